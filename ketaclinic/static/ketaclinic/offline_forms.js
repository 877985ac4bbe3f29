/* Offline-safe forms: a form marked data-offline-safe is sent in the background, so that a connection lost while
 * submitting does not lose what was typed.
 *
 *  - When the send fails because there is no connection, the form keeps its values, a banner says so, and the form
 *    is sent again as soon as the browser is back online (the "online" event) or when "Try again" is pressed.
 *  - When the server answers, the page behaves like a normal submit: a redirect is followed; any other answer
 *    (e.g. 400 with the errors next to the fields, 409 when someone else changed the record) replaces the page.
 *  - Nothing is written to localStorage or any other storage: typed values live only in the open page. Leaving the
 *    page with an unsent form asks for confirmation.
 *  - Forms that htmx submits (hx-post, hx-put, hx-patch) are sent by htmx; a failed send shows the same banner and
 *    is retried through htmx.
 * A resend after a lost answer cannot record twice: session-day forms carry the record's version, and the server
 * refuses a stale version (409) with the typed values kept.
 */
(function () {
  "use strict";

  var SELECTOR = "form[data-offline-safe]";
  var HTMX_VERBS = ["hx-post", "hx-put", "hx-patch"];
  var waiting = new Set();
  var submitters = new WeakMap();

  function isHtmx(form) {
    return HTMX_VERBS.some(function (attr) { return form.hasAttribute(attr); });
  }

  function banner(form) {
    var box = form.querySelector(".offline-banner");
    if (!box) {
      box = document.createElement("div");
      box.className = "offline-banner";
      box.setAttribute("role", "alert");
      var text = document.createElement("p");
      text.innerHTML = "<strong>Not saved yet — no connection.</strong> Will send when the connection returns.";
      var retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = "Try again";
      retry.addEventListener("click", function () { send(form); });
      box.appendChild(text);
      box.appendChild(retry);
      form.insertBefore(box, form.firstChild);
    }
    box.hidden = false;
    return box;
  }

  function clearBanner(form) {
    var box = form.querySelector(".offline-banner");
    if (box) { box.hidden = true; }
  }

  function offline(form) {
    waiting.add(form);
    form.removeAttribute("aria-busy");
    banner(form);
  }

  function replacePage(html, url) {
    if (url && url !== window.location.href) {
      window.history.replaceState(null, "", url);
    }
    document.open();
    document.write(html);
    document.close();
  }

  function formData(form) {
    var submitter = submitters.get(form);
    try {
      return submitter ? new FormData(form, submitter) : new FormData(form);
    } catch (error) {
      return new FormData(form);
    }
  }

  function send(form) {
    if (form.getAttribute("aria-busy") === "true") { return; }
    if (isHtmx(form)) {
      window.htmx.trigger(form, "submit");
      return;
    }
    form.setAttribute("aria-busy", "true");
    var method = (form.getAttribute("method") || "get").toUpperCase();
    var action = form.getAttribute("action") || window.location.href;
    var options = { method: method, credentials: "same-origin", redirect: "follow" };
    var data = formData(form);
    if (method === "GET") {
      action = action.split("?")[0] + "?" + new URLSearchParams(data).toString();
    } else {
      options.body = data;
    }
    fetch(action, options).then(function (response) {
      waiting.delete(form);
      form.removeAttribute("aria-busy");
      clearBanner(form);
      if (response.redirected) {
        window.location.assign(response.url);
        return null;
      }
      return response.text().then(function (html) { replacePage(html, null); });
    }, function () {
      // fetch rejects only when no answer came back at all: the network (or the server) is unreachable.
      offline(form);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[type=submit], input[type=submit], button:not([type])");
    if (button && button.form && button.form.matches(SELECTOR)) {
      submitters.set(button.form, button);
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches(SELECTOR) || isHtmx(form)) { return; }
    event.preventDefault();
    if (event.submitter) { submitters.set(form, event.submitter); }
    send(form);
  });

  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail && event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(SELECTOR);
    if (form) { offline(form); }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail && event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(SELECTOR);
    if (form && event.detail.xhr && event.detail.xhr.status) {
      waiting.delete(form);
      clearBanner(form);
    }
  });

  window.addEventListener("online", function () {
    Array.from(waiting).forEach(function (form) {
      if (form.isConnected) { send(form); } else { waiting.delete(form); }
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (waiting.size) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
