// Fit the LMS's frame to the page (Canvas's `lti.frameResize` postMessage), so that the page is not scrolled
// inside a fixed box. Only when the tool is framed; the message carries nothing but the page's height, so any
// origin may read it (targetOrigin "*", as Canvas's own tools send it). Loaded by every page (views/layouts/main.hbs);
// the CSP allows this one file (src/web/securityHeaders.ts).
(function () {
  'use strict';
  var parent;
  try {
    parent = window.parent;
  } catch (e) {
    return;
  }
  if (!parent || parent === window) return;
  var last = -1;
  var pending = false;

  function send() {
    pending = false;
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (!height || height === last) return;
    last = height;
    try {
      parent.postMessage({ subject: 'lti.frameResize', height: height }, '*');
    } catch (e) {
      // A parent that cannot be posted to: nothing to fit.
    }
  }

  function schedule() {
    if (pending) return;
    pending = true;
    // Not requestAnimationFrame: browsers pause it in a cross-site frame that is out of view.
    setTimeout(send, 50);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', schedule);
  else schedule();
  window.addEventListener('load', schedule);
  if (typeof window.ResizeObserver === 'function') {
    var observer = new window.ResizeObserver(schedule);
    observer.observe(document.documentElement);
    if (document.body) observer.observe(document.body);
  } else {
    window.addEventListener('resize', schedule);
  }
})();
