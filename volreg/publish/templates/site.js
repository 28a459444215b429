/* The hall of deeds' search and filters: runs offline, from the files beside it. */
(function () {
  "use strict";
  function terms(text) { return text.toLowerCase().split(/\s+/).filter(Boolean); }
  function matches(haystack, words) {
    haystack = haystack.toLowerCase();
    return words.every(function (w) { return haystack.indexOf(w) !== -1; });
  }
  var params = new URLSearchParams(window.location.search);

  var results = document.getElementById("search-results");
  if (results && window.VOLREG_INDEX) {
    var box = document.getElementById("q"), status = document.getElementById("search-status");
    var search = function () {
      var words = terms(box.value);
      results.textContent = "";
      if (!words.length) { status.textContent = ""; return; }
      var found = window.VOLREG_INDEX.filter(function (p) {
        return matches([p.name, p.kind, p.titles.join(" "), p.years.join(" "), p.text].join(" "), words);
      });
      status.textContent = "找到 " + found.length + " 位获评者";
      found.slice(0, 50).forEach(function (p) {
        var li = document.createElement("li"), a = document.createElement("a"), meta = document.createElement("span");
        a.href = "honourees/" + encodeURIComponent(p.id) + ".html";
        a.textContent = p.name;
        meta.className = "meta";
        meta.textContent = " " + p.titles.join("、");
        li.appendChild(a); li.appendChild(meta); results.appendChild(li);
      });
    };
    box.addEventListener("input", search);
    box.value = params.get("q") || "";
    search();
  }

  var roll = document.getElementById("roll");
  if (roll) {
    var fields = ["q", "title", "year", "category"].map(function (id) { return document.getElementById(id); });
    var rollStatus = document.getElementById("roll-status");
    var items = Array.prototype.slice.call(roll.children);
    var apply = function () {
      var words = terms(fields[0].value), shown = 0;
      items.forEach(function (li) {
        var ok = (!fields[1].value || li.dataset.title === fields[1].value) &&
                 (!fields[2].value || li.dataset.year === fields[2].value) &&
                 (!fields[3].value || li.dataset.category === fields[3].value) &&
                 matches(li.textContent, words);
        li.hidden = !ok;
        if (ok) { shown += 1; }
      });
      rollStatus.textContent = "共 " + shown + " 条";
    };
    fields.forEach(function (field) {
      var value = params.get(field.id);
      if (value) { field.value = value; }
      field.addEventListener(field.tagName === "SELECT" ? "change" : "input", apply);
    });
    apply();
  }
})();
