// Ask before destructive actions: any form with data-confirm asks its question first.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Print buttons (no inline handlers, so a strict Content-Security-Policy stays possible).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// The patient page's section menu (patients/patient_detail.html) marks the section in view;
// when the menu is a bar that scrolls sideways (narrow screens), the marked link is kept in it.
(function () {
  var menu = document.querySelector("[data-section-menu]");
  if (!menu || !window.bootstrap) {
    return;
  }
  window.bootstrap.ScrollSpy.getOrCreateInstance(document.body, {
    target: "#" + menu.id,
    rootMargin: "0px 0px -60%"
  });
  var list = menu.querySelector(".nav");
  document.body.addEventListener("activate.bs.scrollspy", function (event) {
    var link = event.relatedTarget;
    if (link && list.scrollWidth > list.clientWidth) {
      list.scrollLeft = link.offsetLeft - list.offsetLeft - 16;
    }
  });
})();
