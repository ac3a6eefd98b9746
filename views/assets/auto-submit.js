// Sends a form the page marks data-auto-submit="true" once, as soon as the page is read (the Deep Linking answer to
// the LMS, src/web/deepLinking.ts). The form's own button does the same for a browser that runs no script.
(function () {
  'use strict';
  var form = document.querySelector('form[data-auto-submit="true"]');
  if (!form || form.getAttribute('data-submitted') === 'true') return;
  form.setAttribute('data-submitted', 'true');
  form.submit();
})();
