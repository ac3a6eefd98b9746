// The end of an LTI Dynamic Registration (views/pages/registered.hbs): tell the LMS that opened this page that the
// tool is done, with the 1EdTech message `{subject: "org.imsglobal.lti.close"}`. Moodle shows the page in an iframe
// (window.parent), Canvas in a frame or a window (window.opener). The message carries no data: targetOrigin "*", as the
// spec's examples send it (the LMS checks who sent it). Sent once on load, and again by the page's button.
(function () {
  'use strict';
  function close() {
    var target = window.opener || (window.parent !== window ? window.parent : null);
    if (!target) return false;
    try {
      target.postMessage({ subject: 'org.imsglobal.lti.close' }, '*');
      return true;
    } catch (e) {
      return false;
    }
  }
  var button = document.getElementById('lti-close');
  if (button) {
    button.addEventListener('click', function () {
      if (!close()) {
        var note = document.getElementById('lti-close-note');
        if (note) note.hidden = false;
      }
    });
  }
  close();
})();
