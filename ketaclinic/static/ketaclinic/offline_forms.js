/* Offline-safe forms: a form marked data-offline-safe is sent in the background, so that a connection lost while
 * submitting does not lose what was typed.
 *
 *  - When the send fails because there is no connection, the form keeps its values, a banner says so, and the form
 *    is sent again as soon as the browser is back online (the "online" event) or when "Try again" is pressed.
 *  - When the server answers, the page behaves like a normal submit: a redirect is followed; any other answer
 *    (e.g. 400 with the errors next to the fields, 409 when someone else changed the record) replaces the page.
 *  - Nothing is written to localStorage or any other storage: typed values live only in the open page. Leaving the
 *    page with an unsent form asks for confirmation.
 *  - When the connection came back after the sign-in ended (idle sign-out), the values stay too: the banner asks to
 *    sign in again in another tab and press "Try again"; the form then sends the new sign-in's CSRF token.
 *  - Forms that htmx submits (hx-post, hx-put, hx-patch) are sent by htmx; a failed send shows the same banner and
 *    is retried through htmx.
 * A resend after a lost answer cannot record twice: session-day forms carry the record's version, and the server
 * refuses a stale version (409) with the typed values kept.
 */
(function () {
  "use strict";

  var SELECTOR = "form[data-offline-safe]";
  var script = document.currentScript;
  var LOGIN = (script && script.dataset.loginUrl) || "/accounts/login/";
  var OFFLINE = "<strong>Not saved yet — no connection.</strong> Will send when the connection returns.";
  var SIGNED_OUT = "<strong>Not saved yet — you were signed out.</strong> <a href=\"" + LOGIN +
    "\" target=\"_blank\" rel=\"noopener\">Sign in again</a> (in a new tab), then press Try again.";
  var HTMX_VERBS = ["hx-post", "hx-put", "hx-patch"];
  var waiting = new Set();
  var submitters = new WeakMap();

  function isHtmx(form) {
    return HTMX_VERBS.some(function (attr) { return form.hasAttribute(attr); });
  }

  function banner(form, message) {
    var box = form.querySelector(".offline-banner");
    if (!box) {
      box = document.createElement("div");
      box.className = "offline-banner";
      box.setAttribute("role", "alert");
      var text = document.createElement("p");
      var retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = "Try again";
      retry.addEventListener("click", function () { send(form); });
      box.appendChild(text);
      box.appendChild(retry);
      form.insertBefore(box, form.firstChild);
    }
    box.querySelector("p").innerHTML = message;
    box.hidden = false;
    return box;
  }

  function clearBanner(form) {
    var box = form.querySelector(".offline-banner");
    if (box) { box.hidden = true; }
  }

  function offline(form, message) {
    waiting.add(form);
    form.removeAttribute("aria-busy");
    banner(form, message || OFFLINE);
  }

  function freshToken(form) {
    // After signing in again the CSRF secret changed: send the current cookie's, not the one the page was built with.
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    var cookie = document.cookie.split("; ").filter(function (c) { return c.indexOf("csrftoken=") === 0; })[0];
    if (field && cookie) { field.value = decodeURIComponent(cookie.slice("csrftoken=".length)); }
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
    freshToken(form);
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
      if (response.redirected && new URL(response.url).pathname === LOGIN) {
        offline(form, SIGNED_OUT);  // kept: resent with "Try again" once signed in again
        return null;
      }
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
