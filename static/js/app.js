// Stagebureau: progressive enhancements only; every page works without JavaScript.
"use strict";

// "Add another action" on the record form: clone the formset's empty form.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".action-formset").forEach(function (fieldset) {
    var prefix = fieldset.dataset.prefix;
    var total = fieldset.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var max = fieldset.querySelector("input[name='" + prefix + "-MAX_NUM_FORMS']");
    var template = fieldset.querySelector("template.action-row-template");
    var rows = fieldset.querySelector(".action-rows");
    var button = fieldset.querySelector(".add-action-row");
    if (!total || !template || !rows || !button) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) {
        return;
      }
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
      if (first) {
        first.focus();
      }
    });
  });
});
