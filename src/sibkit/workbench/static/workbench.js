// sibkit review workbench: one key per action, and text selection to code a span. No third-party code.
(function () {
  "use strict";

  function typing(element) {
    var tag = element && element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // Keys: an element with data-key="x" is clicked (buttons, links) or focused (fields) when x is pressed.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && typing(document.activeElement)) {
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
    if (typing(target)) {
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
    selected.value = range.toString();
    preview.textContent = "\u201c" + selected.value.slice(0, 120) + (selected.value.length > 120 ? "\u2026" : "") + "\u201d";
  }
  if (text && start && end) {
    text.addEventListener("mouseup", takeSelection);
    text.addEventListener("keyup", takeSelection);
    start.addEventListener("input", function () { selected.value = ""; });
    end.addEventListener("input", function () { selected.value = ""; });
    var hit = document.getElementById("hit");
    if (hit && !window.location.hash) {
      hit.scrollIntoView({block: "center"});
    }
  }
})();
