// The DXA form's scanner (templates/monitoring/dxa_form.html): the box for a scanner off the
// clinic's list is shown only while "Another scanner" is chosen in the select, so Tab goes
// from the select straight to the first site. Without this script the box is always shown.
(function () {
  "use strict";

  function sync(select) {
    var other = document.querySelector("[data-scanner-other]");
    var wrapper = other && other.closest(".scanner-other");
    if (!wrapper) {
      return;
    }
    var isOther = select.value === select.getAttribute("data-scanner-select");
    wrapper.hidden = !isOther && !other.classList.contains("is-invalid");
  }

  document.querySelectorAll("select[data-scanner-select]").forEach(function (select) {
    sync(select);
    select.addEventListener("change", function () {
      sync(select);
      if (!document.querySelector(".scanner-other").hidden) {
        document.querySelector("[data-scanner-other]").focus();
      }
    });
  });
})();
