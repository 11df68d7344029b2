/* A page script's words in the reader's language: the page renders them from the catalogues
   (gridops.web.i18n.script_strings) into <script id="gridops-strings">, and scripts ask by key.
   gridopsT("due_in", {n: 3}) fills {n}; a key the page did not render is shown as itself, so a
   missing word is seen in a walk rather than hidden. */
(function () {
  "use strict";
  var words = null;
  function load() {
    if (words) return words;
    var node = document.getElementById("gridops-strings");
    try { words = node ? JSON.parse(node.textContent) : {}; } catch (e) { words = {}; }
    return words;
  }
  window.gridopsT = function (key, values) {
    var text = Object.prototype.hasOwnProperty.call(load(), key) ? words[key] : key;
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  };
  window.gridopsLang = function () { return document.documentElement.lang || "zh-CN"; };
})();
