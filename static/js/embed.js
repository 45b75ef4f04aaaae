// In a frame on the church's own website (/embed/ask/): tell the page around
// it how tall this page is, so that the README's snippet can size the frame
// without a scroll bar. Only the height is sent, nothing of the page.
(function () {
  "use strict";
  if (window.parent === window) {
    return;
  }
  var sent = 0;
  function tell() {
    // The body's own height, not the document's: that is at least the
    // frame's, and would never let the frame shrink for a shorter page.
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== sent) {
      sent = height;
      window.parent.postMessage({ intercessionHeight: height }, "*");
    }
  }
  window.addEventListener("load", tell);
  if (window.ResizeObserver) {
    new ResizeObserver(tell).observe(document.body);
  }
})();
