// sibkit review workbench: one key per action, and text selection to code a span. No third-party code.
(function () {
  "use strict";

  function field(element) {
    var tag = element && element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // A field that takes letters: keys typed there are its own. A checkbox takes only Space, so the other keys
  // stay shortcuts while it has focus (tick with Space, then a number key for the next theme, or k to save).
  function typing(element) {
    return field(element) && !(element.tagName === "INPUT" && (element.type === "checkbox" || element.type === "radio"));
  }

  // Keys: an element with data-key="x" is clicked (buttons, links) or focused (fields) when x is pressed.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && field(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var target = document.querySelector('[data-key="' + event.key + '"]');
    if (!target) {
      return;
    }
    event.preventDefault();
    if (field(target)) {
      target.focus();
    } else {
      target.click();
    }
  });

  // Enter on the recode choice sends it (a select does not submit its form by itself).
  var recode = document.getElementById("recode-theme");
  if (recode) {
    recode.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        recode.form.requestSubmit();
      }
    });
  }

  // The memo's target follows the "On" choice (reference, document, case).
  var kind = document.getElementById("memo-kind");
  var memoTarget = document.getElementById("memo-target");
  if (kind && memoTarget) {
    kind.addEventListener("change", function () {
      memoTarget.value = memoTarget.dataset[kind.value] || "";
    });
  }

  // Selecting text in the document fills the code form with code-point offsets into the stored text.
  var text = document.getElementById("doctext");
  var start = document.getElementById("code-start");
  var end = document.getElementById("code-end");
  var selected = document.getElementById("code-selected");
  var preview = document.getElementById("code-preview");
  function codePoints(string) {
    return Array.from(string).length;
  }
  function offsetOf(node, offset) {
    var range = document.createRange();
    range.setStart(text, 0);
    range.setEnd(node, offset);
    return codePoints(range.toString());
  }
  function show(chosen) {
    selected.value = chosen;
    preview.textContent = "\u201c" + chosen.slice(0, 120) + (chosen.length > 120 ? "\u2026" : "") + "\u201d";
  }
  // Without a mouse: words typed in "Text to code" are looked for in the document, from the hit on (else
  // from its start), and fill From and to as a selection would.
  var find = document.getElementById("code-find");
  function findText() {
    var wanted = find.value;
    if (!wanted.trim()) {
      start.value = end.value = selected.value = "";
      preview.textContent = find.dataset.prompt;
      return;
    }
    var whole = text.textContent;
    var anchor = document.getElementById("hit");
    var from = anchor ? offsetOf(anchor, 0) : 0;
    var units = Array.from(whole).slice(0, from).join("").length;  // code points to UTF-16 units
    var at = whole.indexOf(wanted, units);
    if (at < 0) {
      at = whole.indexOf(wanted);
    }
    if (at < 0) {
      start.value = end.value = selected.value = "";
      preview.textContent = "\u201c" + wanted.slice(0, 60) + "\u201d is not in this document.";
      return;
    }
    start.value = codePoints(whole.slice(0, at));
    end.value = codePoints(whole.slice(0, at + wanted.length));
    show(wanted);
  }

  function takeSelection() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) {
      return;
    }
    var range = selection.getRangeAt(0);
    if (!text.contains(range.startContainer) || !text.contains(range.endContainer)) {
      return;
    }
    start.value = offsetOf(range.startContainer, range.startOffset);
    end.value = offsetOf(range.endContainer, range.endOffset);
    show(range.toString());
  }
  if (text && start && end) {
    text.addEventListener("mouseup", takeSelection);
    text.addEventListener("keyup", takeSelection);
    start.addEventListener("input", function () { selected.value = ""; });
    end.addEventListener("input", function () { selected.value = ""; });
    if (find) {
      find.addEventListener("input", findText);
    }
    var hit = document.getElementById("hit");
    if (hit && !window.location.hash) {
      hit.scrollIntoView({block: "center"});
    }
  }
})();
