// 1EdTech LTI Client Side postMessages, platform storage (src/lti/platformStorage.ts): put the
// login's secret into the LMS's storage and go on to the LMS, or read it back and post the launch.
// Messages go only to the LMS's origin, and only its answers to our own message id are read.
(function () {
  'use strict';
  var el = document.getElementById('lti-storage');
  if (!el) return;
  var d = el.dataset;
  var done = false;

  function fallBack() {
    if (done) return;
    done = true;
    document.getElementById('storage-wait').hidden = true;
    document.getElementById('storage-fallback').hidden = false;
  }

  var target;
  try {
    target = d.target === '_parent' ? window.parent : window.parent.frames[d.target];
  } catch (e) {
    target = null;
  }
  if (!target || target === window) return fallBack();

  var id = 'isnotai-' + (window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID() : String(Math.random()).slice(2));
  var timer = setTimeout(fallBack, 5000);

  window.addEventListener('message', function (event) {
    var m = event.data;
    if (done || event.origin !== d.origin || !m || typeof m !== 'object' || m.message_id !== id) return;
    clearTimeout(timer);
    if (m.error) return fallBack();
    if (d.mode === 'put' && m.subject === 'lti.put_data.response' && m.key === d.key) {
      done = true;
      window.location.replace(d.next);
    } else if (d.mode === 'get' && m.subject === 'lti.get_data.response' && m.key === d.key && typeof m.value === 'string') {
      done = true;
      var form = document.getElementById('storage-launch');
      form.querySelector('input[name="lti_storage_proof"]').value = m.value;
      form.submit();
    } else {
      fallBack();
    }
  });

  var message = { subject: d.mode === 'put' ? 'lti.put_data' : 'lti.get_data', message_id: id, key: d.key };
  if (d.mode === 'put') message.value = d.value;
  target.postMessage(message, d.origin);
})();
