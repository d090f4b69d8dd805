// The decision form (templates/therapy/decision_form.html): show only the questions that apply
// to the choice, and keep the stopped course's last day on the day before the new start until
// the clinician types another. Without this script every question shows and the server applies
// the same defaults; nothing here decides anything.
(function () {
  "use strict";
  var form = document.querySelector("form[data-decision-form]");
  if (!form) {
    return;
  }
  var injected = (form.getAttribute("data-injected") || "").split(" ");
  var today = form.getAttribute("data-today");
  var startDate = form.elements.namedItem("start_date");
  var startCourse = form.elements.namedItem("start_course");
  var stopDate = form.elements.namedItem("stop_date");
  var otherDrug = form.elements.namedItem("other_drug");
  // "No treatment now" and "no medication indicated" choose no drug, as does "continue".
  var WITHOUT_A_DRUG = ["continue", "none", "not_indicated"];

  function dayBefore(iso) {
    var day = new Date(iso + "T00:00:00Z");
    if (isNaN(day.getTime())) {
      return "";
    }
    day.setUTCDate(day.getUTCDate() - 1);
    return day.toISOString().slice(0, 10);
  }

  function decision() {
    var checked = form.querySelector('input[name="decision"]:checked');
    return checked ? checked.value : "";
  }

  function chosenDrug(value) {
    if (value === "another") {
      return otherDrug ? otherDrug.value : "";
    }
    return WITHOUT_A_DRUG.indexOf(value) !== -1 ? "" : value;
  }

  function show(name, visible) {
    form.querySelectorAll('[data-show="' + name + '"]').forEach(function (element) {
      element.hidden = !visible;
    });
  }

  // A last day the clinician typed is never overwritten; one the page filled in follows the start.
  var stopTyped = Boolean(
    stopDate && stopDate.value && stopDate.value !== today &&
    stopDate.value !== dayBefore(startDate ? startDate.value : "")
  );
  if (stopDate) {
    stopDate.addEventListener("input", function () {
      stopTyped = true;
    });
  }

  function update() {
    var value = decision();
    var drug = chosenDrug(value);
    var isDrug = value !== "" && WITHOUT_A_DRUG.indexOf(value) === -1;
    var noDrugNow = value === "none" || value === "not_indicated";
    var starting = isDrug && Boolean(startCourse && startCourse.checked);
    show("another", value === "another");
    show("start", isDrug);
    show("starting", starting);
    show("first-dose", starting && injected.indexOf(drug) !== -1);
    show("stop", isDrug || noDrugNow);
    if (stopDate && !stopTyped) {
      if (noDrugNow) {
        stopDate.value = today;
      } else if (startDate && startDate.value) {
        stopDate.value = dayBefore(startDate.value);
      }
    }
  }

  form.addEventListener("change", update);
  form.addEventListener("input", function (event) {
    if (event.target === startDate) {
      update();
    }
  });
  // One decision per click: a second click while the first is saving would be refused anyway.
  function enableSubmit(enabled) {
    form.querySelectorAll('button[type="submit"]').forEach(function (button) {
      button.disabled = !enabled;
    });
  }
  form.addEventListener("submit", function () {
    enableSubmit(false);
  });
  // Back to this page from the browser's history: the button works again.
  window.addEventListener("pageshow", function () {
    enableSubmit(true);
  });
  update();
})();
