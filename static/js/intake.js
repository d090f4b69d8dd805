// The history intake (templates/patients/intake.html): rows of a Django formset are added from
// its <template> (the empty form, "__prefix__" standing for the row's index) and removed by
// marking them deleted and hiding them, so the rows' indexes stay as the server numbered them.
(function () {
  "use strict";

  function visibleRows(rows) {
    return Array.prototype.filter.call(rows.querySelectorAll("[data-formset-row]"), function (row) {
      return !row.hidden;
    });
  }

  function renumber(rows) {
    visibleRows(rows).forEach(function (row, index) {
      row.querySelectorAll("[data-row-number]").forEach(function (number) {
        number.textContent = String(index + 1);
      });
    });
  }

  document.querySelectorAll("[data-formset]").forEach(function (section) {
    var prefix = section.getAttribute("data-formset");
    var rows = section.querySelector("[data-formset-rows]");
    var template = section.querySelector("template[data-formset-template]");
    var add = section.querySelector("[data-formset-add]");
    var total = section.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var max = parseInt(section.querySelector('input[name="' + prefix + '-MAX_NUM_FORMS"]').value, 10);

    function showButtons() {
      rows.querySelectorAll("[data-formset-remove]").forEach(function (button) {
        button.hidden = false;
      });
      add.hidden = false;
      add.disabled = parseInt(total.value, 10) >= max;
    }

    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (index >= max) {
        return;
      }
      rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
      total.value = String(index + 1);
      showButtons();
      renumber(rows);
      var first = rows.lastElementChild.querySelector("input:not([type=hidden]), select");
      if (first) {
        first.focus();
      }
    });

    rows.addEventListener("click", function (event) {
      var button = event.target.closest("[data-formset-remove]");
      if (!button) {
        return;
      }
      var row = button.closest("[data-formset-row]");
      row.querySelector('input[name$="-DELETE"]').value = "on";
      row.hidden = true;
      renumber(rows);
      add.focus();
    });

    showButtons();
  });
})();
