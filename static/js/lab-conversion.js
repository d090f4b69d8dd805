// The conversion of a lab value, shown as it is typed (templates/monitoring/lab_form.html).
// Each .lab-conversion line names its value input and unit select in `data-for`; the
// chosen unit's <option> carries data-per-canonical (how many of it make one stored unit) and
// its usual range (data-low, data-high); the line carries the stored unit and its decimals,
// or data-test-select names a test select whose options carry them. The words are those of
// monitoring.forms.conversion_text, which writes the same line when the page is rendered.
(function () {
  "use strict";

  // Like monitoring.lab_tests.lab_number: never an exponent, no trailing zeros.
  function number(x) {
    var text = x.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
    return text === "-0" || text === "" ? "0" : text;
  }

  function storedUnit(line) {
    var select = document.getElementById(line.getAttribute("data-test-select") || "");
    var option = select && select.options[select.selectedIndex];
    var source = option && option.hasAttribute("data-stored-unit") ? option : line;
    return {
      symbol: source.getAttribute("data-stored-unit"),
      decimals: Number(source.getAttribute("data-decimals"))
    };
  }

  function update(line) {
    var ids = (line.getAttribute("data-for") || "").split(/\s+/);
    var input = document.getElementById(ids[0]);
    var select = document.getElementById(ids[1]);
    if (!input || !select) {
      return;
    }
    var option = select.options[select.selectedIndex];
    var raw = input.value.trim();
    var value = Number(raw);
    if (!option || raw === "" || !isFinite(value)) {
      line.textContent = "";
      return;
    }
    var stored = storedUnit(line);
    var factor = Number(option.getAttribute("data-per-canonical"));
    var parts = [];
    if (option.value !== stored.symbol && factor > 0) {
      var converted = factor === 1 ? value : Number((value / factor).toFixed(stored.decimals));
      parts.push("= " + number(converted) + " " + stored.symbol + " stored");
    }
    var low = Number(option.getAttribute("data-low"));
    var high = Number(option.getAttribute("data-high"));
    if (option.hasAttribute("data-low") && (value < low || value > high)) {
      parts.push("outside the usual " + number(low) + "–" + number(high) + " " + option.value);
    }
    line.textContent = parts.join("; ");
  }

  function linesFor(element) {
    return Array.prototype.filter.call(
      document.querySelectorAll(".lab-conversion[data-for]"),
      function (line) {
        var names = (line.getAttribute("data-for") || "").split(/\s+/);
        names.push(line.getAttribute("data-test-select") || "");
        return names.indexOf(element.id) !== -1;
      }
    );
  }

  function onEdit(event) {
    if (event.target && event.target.id) {
      linesFor(event.target).forEach(update);
    }
  }

  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);
  document.querySelectorAll(".lab-conversion[data-for]").forEach(update);
})();
