// Skip logic for portal questionnaires: a question with data-asked-when="q2=yes" is shown only when q2 is answered
// yes. Without JavaScript every question shows, and the server ignores answers to questions that were not asked.
(function () {
  function update(form) {
    form.querySelectorAll("[data-asked-when]").forEach(function (box) {
      var rule = box.getAttribute("data-asked-when").split("=");
      var chosen = form.querySelector('input[name="' + rule[0] + '"]:checked');
      var asked = chosen !== null && chosen.value === rule[1];
      box.hidden = !asked;
      if (!asked) {
        box.querySelectorAll("input").forEach(function (input) { input.checked = false; });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-skip-logic]").forEach(function (form) {
      update(form);
      form.addEventListener("change", function () { update(form); });
    });
  });
})();
