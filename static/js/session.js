// Idle sessions (config/session.py has the whole reading).
//
// 1. A warning before the idle timeout: the page counts down data-session-idle seconds (the time
//    the session had left when the page was made: the server renews it at most once a minute)
//    from the last request made by any tab of this browser (their time is shared through
//    localStorage: a time, nothing else) and, data-session-warning seconds before the end,
//    offers "Stay signed in", which posts to the server and so renews the session. Once the time
//    is up it offers "Sign in again".
// 2. What was typed survives the end of the session: when a form is submitted (or "Sign in
//    again" is followed), its fields are copied into this tab's sessionStorage. If the session
//    had ended, the server answers with the login page; signed in again, the same user lands on
//    the same page and the fields are put back in the same form, then the copy is deleted. Any
//    other page deletes it unread. Never copied: passwords, CSRF tokens, hidden and file fields.
//    Nothing typed is put in a URL or a cookie, or sent anywhere but in the form's own POST.
(function () {
  "use strict";

  var PENDING = "ossa.pendingForm";
  var TOUCHED = "ossa.sessionTouched";
  var KEEP_MS = 2 * 60 * 60 * 1000;
  var SKIPPED_TYPES = ["password", "hidden", "file", "submit", "button", "reset", "image"];

  var body = document.body;
  var loginUrl = body.getAttribute("data-login-url");
  var user = body.getAttribute("data-user");
  var onLoginPage = Boolean(loginUrl) && window.location.pathname === loginUrl;

  function store(name) {
    try {
      var s = window[name];
      s.getItem(PENDING);
      return s;
    } catch (error) {
      return null; // storage disabled: the countdown still works, forms are not kept
    }
  }
  var tab = store("sessionStorage");
  var shared = store("localStorage");

  function here() {
    return window.location.pathname + window.location.search;
  }

  function show(id) {
    var element = document.getElementById(id);
    if (element) {
      element.hidden = false;
    }
  }

  // --- what was typed -------------------------------------------------------------------------

  function readPending() {
    try {
      return tab ? JSON.parse(tab.getItem(PENDING)) : null;
    } catch (error) {
      return null;
    }
  }

  function dropPending() {
    if (tab) {
      tab.removeItem(PENDING);
    }
  }

  function isKept(form) {
    return (
      form.method.toLowerCase() === "post" &&
      form.getAttribute("data-session-keep") !== "off" &&
      !form.querySelector("input[type=password]")
    );
  }

  function copyable(element) {
    var type = (element.type || "").toLowerCase();
    return (
      element.name &&
      !element.disabled &&
      element.name !== "csrfmiddlewaretoken" &&
      SKIPPED_TYPES.indexOf(type) < 0
    );
  }

  // A form's target without the page's #fragment (a form without `action` posts to the page).
  function actionOf(form) {
    return form.action.split("#")[0];
  }

  function samePostForms(action) {
    return Array.prototype.filter.call(document.forms, function (form) {
      return actionOf(form) === action && form.method.toLowerCase() === "post";
    });
  }

  function keep(form) {
    if (!tab || !user || !isKept(form)) {
      return;
    }
    var names = [];
    var values = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!copyable(element)) {
        return;
      }
      var type = element.type.toLowerCase();
      names.push(element.name);
      if (type === "checkbox" || type === "radio") {
        if (element.checked) {
          values.push([element.name, element.value]);
        }
      } else if (element.tagName === "SELECT" && element.multiple) {
        Array.prototype.forEach.call(element.selectedOptions, function (option) {
          values.push([element.name, option.value]);
        });
      } else {
        values.push([element.name, element.value]);
      }
    });
    try {
      tab.setItem(
        PENDING,
        JSON.stringify({
          user: user,
          page: here(),
          action: actionOf(form),
          index: samePostForms(actionOf(form)).indexOf(form),
          names: names,
          values: values,
          savedAt: Date.now(),
          viaLogin: false
        })
      );
    } catch (error) {
      // storage full: the form is posted as usual, only not kept
    }
  }

  function putBack(form, pending) {
    var byName = {};
    pending.values.forEach(function (pair) {
      (byName[pair[0]] = byName[pair[0]] || []).push(pair[1]);
    });
    var next = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!copyable(element) || pending.names.indexOf(element.name) < 0) {
        return;
      }
      var type = element.type.toLowerCase();
      var values = byName[element.name] || [];
      if (type === "checkbox" || type === "radio") {
        element.checked = values.indexOf(element.value) >= 0;
      } else if (element.tagName === "SELECT" && element.multiple) {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = values.indexOf(option.value) >= 0;
        });
      } else {
        // Fields sharing a name (formset-like rows) are filled in document order.
        var position = next[element.name] || 0;
        if (position < values.length) {
          element.value = values[position];
        }
        next[element.name] = position + 1;
      }
      element.dispatchEvent(new Event("input", { bubbles: true }));
      element.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function resumePending() {
    var pending = readPending();
    if (!pending) {
      return;
    }
    if (!(Date.now() - pending.savedAt < KEEP_MS)) {
      dropPending();
      return;
    }
    if (onLoginPage) {
      pending.viaLogin = true;
      tab.setItem(PENDING, JSON.stringify(pending));
      show("session-kept");
      return;
    }
    dropPending(); // read once, whatever happens next
    if (!pending.viaLogin || !user || pending.user !== user || pending.page !== here()) {
      return;
    }
    var forms = samePostForms(pending.action);
    var form = forms[pending.index] || forms[0];
    if (form) {
      putBack(form, pending);
      show("session-restored");
    }
  }

  var lastTypedIn = null;
  document.addEventListener("input", function (event) {
    if (event.isTrusted && event.target.form) {
      lastTypedIn = event.target.form;
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-session-keep") === "off") {
      dropPending(); // signing out: nothing is kept for whoever signs in next
      return;
    }
    keep(form);
  });

  resumePending();

  // --- the countdown --------------------------------------------------------------------------

  var idleSeconds = Number(body.getAttribute("data-session-idle"));
  var warningSeconds = Number(body.getAttribute("data-session-warning"));
  var touchUrl = body.getAttribute("data-session-touch");
  var panel = document.getElementById("session-warning");
  if (!user || !idleSeconds || !panel) {
    return;
  }
  var message = panel.querySelector("[data-session-message]");
  var countdown = panel.querySelector("[data-session-countdown]");
  var stay = panel.querySelector("[data-session-stay]");
  var signIn = panel.querySelector("[data-session-sign-in]");
  var touchedHere = Date.now();
  var state = "";

  function touched() {
    touchedHere = Date.now();
    if (shared) {
      shared.setItem(TOUCHED, String(touchedHere));
    }
  }

  function lastTouched() {
    var elsewhere = shared ? Number(shared.getItem(TOUCHED)) || 0 : 0;
    return Math.max(touchedHere, elsewhere);
  }

  function clock(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function enter(next) {
    if (next === state) {
      return;
    }
    state = next;
    panel.hidden = next === "active";
    stay.hidden = next !== "warning";
    signIn.hidden = next !== "ended";
    countdown.hidden = next !== "warning";
    if (next === "warning") {
      message.textContent =
        "For your patients' safety you will be signed out soon, as nothing has been sent " +
        "from this browser for a while.";
    } else if (next === "ended") {
      message.textContent =
        "Your session has ended. Sign in again to go on: what you typed in a form on this " +
        "page is kept.";
      signIn.href = loginUrl + "?next=" + encodeURIComponent(here());
    }
  }

  function tick() {
    var left = Math.ceil((lastTouched() + idleSeconds * 1000 - Date.now()) / 1000);
    if (left <= 0) {
      enter("ended");
    } else if (left <= warningSeconds) {
      enter("warning");
      countdown.textContent = clock(left);
    } else {
      enter("active");
    }
  }

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  }

  stay.addEventListener("click", function () {
    stay.disabled = true;
    fetch(touchUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      redirect: "manual"
    })
      .then(function (response) {
        if (response.ok) {
          touched();
        } else {
          touchedHere = 0; // the server says the session is over (sent to the login page)
          if (shared) {
            shared.removeItem(TOUCHED);
          }
        }
      })
      .catch(function () {
        // offline: the countdown goes on and says when the session has ended
      })
      .then(function () {
        stay.disabled = false;
        tick();
      });
  });

  signIn.addEventListener("click", function () {
    if (lastTypedIn) {
      keep(lastTypedIn);
    }
  });

  document.addEventListener("htmx:afterRequest", touched);
  window.addEventListener("storage", function (event) {
    if (event.key === TOUCHED) {
      tick();
    }
  });
  touched();
  tick();
  window.setInterval(tick, 1000);
})();
