// smev-gateway UI: progressive enhancement only — every page works without this script.
// Form checks (the server checks again), tabs, confirmations and live request statuses.
"use strict";

(function () {
  var POLL_MS = 2500;

  // ----- form validation (mirrors src/ui/forms.rs) -----
  function snilsOk(d) {
    if (parseInt(d.slice(0, 9), 10) <= 1001998) return true;
    var sum = 0;
    for (var i = 0; i < 9; i++) sum += parseInt(d[i], 10) * (9 - i);
    var check;
    if (sum < 100) check = sum;
    else if (sum === 100 || sum === 101) check = 0;
    else { check = sum % 101; if (check === 100) check = 0; }
    return check === parseInt(d.slice(9), 10);
  }

  // ИНН (10 or 12 digits) and ОГРН (13) / ОГРНИП (15) check numbers, as in
  // smev-protocol/src/xsd/identifiers.rs.
  function innDigit(d, weights) {
    var sum = 0;
    for (var i = 0; i < weights.length; i++) sum += parseInt(d[i], 10) * weights[i];
    return sum % 11 % 10;
  }
  function innOk(d) {
    if (d.length === 10) return innDigit(d, [2, 4, 10, 3, 5, 9, 4, 6, 8]) === parseInt(d[9], 10);
    if (d.length === 12) {
      return innDigit(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === parseInt(d[10], 10) &&
        innDigit(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === parseInt(d[11], 10);
    }
    return true;
  }
  function modDigits(d, m) {
    // The remainder of a long decimal number, digit by digit (no precision loss).
    var r = 0;
    for (var i = 0; i < d.length; i++) r = (r * 10 + parseInt(d[i], 10)) % m;
    return r;
  }
  function ogrnOk(d) {
    if (d.length === 13) return modDigits(d.slice(0, 12), 11) % 10 === parseInt(d[12], 10);
    if (d.length === 15) return modDigits(d.slice(0, 14), 13) % 10 === parseInt(d[14], 10);
    return true;
  }

  function joinOr(list) {
    if (list.length < 2) return list.join("");
    return list.slice(0, -1).join(", ") + " или " + list[list.length - 1];
  }

  function checkField(input) {
    var v = input.value.trim();
    var label = input.getAttribute("data-label") || "";
    var format = input.getAttribute("data-format") || "";
    if (!v) {
      if (input.getAttribute("data-required")) {
        if (format === "date" && input.validity && input.validity.badInput) {
          return "Укажите в поле «" + label + "» существующую дату в формате ДД.ММ.ГГГГ.";
        }
        return "Заполните поле «" + label + "».";
      }
      return "";
    }
    if (v.length > 500) return "Поле «" + label + "» слишком длинное: не более 500 символов.";
    if (format.indexOf("digits:") === 0) {
      var lengths = format.slice(7).split("|");
      if (!/^[0-9]+$/.test(v) || lengths.indexOf(String(v.length)) < 0) {
        return "Поле «" + label + "» должно состоять из " + joinOr(lengths) + " цифр.";
      }
      var identifier = input.getAttribute("data-identifier");
      if (identifier === "inn" && !innOk(v)) return "Контрольное число ИНН в поле «" + label + "» не сходится: проверьте номер.";
      if (identifier === "ogrn" && !ogrnOk(v)) return "Контрольное число ОГРН в поле «" + label + "» не сходится: проверьте номер.";
    } else if (format === "date") {
      var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v) || /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(v);
      if (!m) return "Укажите в поле «" + label + "» существующую дату в формате ДД.ММ.ГГГГ.";
    } else if (format === "snils") {
      var d = v.replace(/[ -]/g, "");
      if (!/^[0-9]{11}$/.test(d)) return "Поле «" + label + "» должно содержать 11 цифр СНИЛС, например 112-233-445 95.";
      if (!snilsOk(d)) return "Контрольное число СНИЛС в поле «" + label + "» не сходится: проверьте номер.";
    }
    return "";
  }

  function showError(input, message) {
    var err = document.getElementById(input.id + "-error");
    var wrap = input.closest(".field");
    if (message) {
      input.setAttribute("aria-invalid", "true");
      if (err) { err.textContent = message; err.hidden = false; }
      if (wrap) wrap.classList.add("has-error");
    } else {
      input.removeAttribute("aria-invalid");
      if (err) { err.textContent = ""; err.hidden = true; }
      if (wrap) wrap.classList.remove("has-error");
    }
  }

  document.querySelectorAll("form[data-validate]").forEach(function (form) {
    var inputs = form.querySelectorAll("input[data-format]");
    inputs.forEach(function (input) {
      // A shown message goes away as soon as the value is right (no re-check on blur: a
      // message appearing there would move the button the user is about to press).
      input.addEventListener("input", function () {
        if (input.getAttribute("aria-invalid") && !checkField(input)) showError(input, "");
      });
    });
    form.addEventListener("submit", function (ev) {
      var first = null;
      inputs.forEach(function (input) {
        var msg = checkField(input);
        showError(input, msg);
        if (msg && !first) first = input;
      });
      if (first) {
        ev.preventDefault();
        first.focus();
      } else {
        var btn = ev.submitter || form.querySelector("button[type=submit]");
        // Disabled only after the form data is taken: a disabled submitter would drop its own
        // name and value (the «Добавить ещё» buttons carry the element to add).
        if (btn) setTimeout(function () { btn.disabled = true; btn.textContent = "Подождите…"; }, 0);
      }
    });
  });

  // ----- forms made from a schema: only the chosen alternative of a choice is shown -----
  // (without JavaScript every alternative is shown and the radio button decides; the server
  // reads only the chosen one either way)
  document.querySelectorAll("fieldset.schema-choice").forEach(function (box) {
    var alternatives = Array.prototype.filter.call(box.children, function (el) {
      return el.classList.contains("schema-alternative");
    });
    function sync() {
      var chosen = box.querySelector("input[data-choice]:checked");
      alternatives.forEach(function (alt, i) {
        alt.hidden = !chosen || String(i) !== chosen.value;
      });
    }
    box.addEventListener("change", function (ev) {
      if (ev.target.hasAttribute("data-choice")) sync();
    });
    sync();
  });

  // ----- confirmations -----
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var text = f.getAttribute && f.getAttribute("data-confirm");
    if (text && !window.confirm(text)) ev.preventDefault();
  }, true);

  // ----- focus the error summary after a refused form -----
  var summary = document.getElementById("error-summary") || document.getElementById("sign-error");
  if (summary) summary.focus();

  // ----- tabs (WAI-ARIA tabs pattern) -----
  // ----- ЭП-СП through the CryptoPro browser plug-in (the cadesplugin API, async mode) -----
  // The page works without it: the upload form below stays. Certificates come from the user's
  // store «Личное»; the plug-in signs the hash of the SignedInfo (RawSignature.SignHash), and the
  // server verifies the value (CryptoPro's byte order) and that the certificate is the user's.
  var pluginBox = document.querySelector("[data-plugin-sign]");
  var signForm = document.querySelector("[data-sign-form]");
  if (pluginBox && signForm && window.cadesplugin) {
    var OID_GOST_512 = "1.2.643.7.1.1.1.2";
    var certSelect = pluginBox.querySelector("[data-plugin-certs]");
    var pluginError = pluginBox.querySelector("[data-plugin-error]");
    var signButton = pluginBox.querySelector("[data-plugin-sign-button]");
    var pluginCerts = [];
    var plugin = window.cadesplugin;
    var why = function (e) {
      return (e && (e.message || String(e))) || "неизвестная ошибка";
    };
    var showError = function (text) {
      pluginError.textContent = text;
      pluginError.hidden = false;
    };
    var cnOf = function (subject) {
      var m = /(?:^|,\s*)CN=("[^"]*"|[^,]*)/.exec(subject || "");
      return m ? m[1].replace(/^"|"$/g, "") : subject;
    };
    var ruDate = function (d) {
      var t = new Date(d);
      if (isNaN(t.getTime())) return String(d);
      var p = function (n) { return (n < 10 ? "0" : "") + n; };
      return p(t.getDate()) + "." + p(t.getMonth() + 1) + "." + t.getFullYear();
    };
    pluginBox.hidden = false;
    Promise.resolve(plugin).then(async function () {
      var store = await plugin.CreateObjectAsync("CAdESCOM.Store");
      await store.Open(2, "My", 2); // CAPICOM_CURRENT_USER_STORE, «Личное», MAXIMUM_ALLOWED
      var all = await store.Certificates;
      var count = await all.Count;
      for (var i = 1; i <= count; i++) {
        var c = await all.Item(i);
        if (!(await c.HasPrivateKey())) continue;
        var option = document.createElement("option");
        option.textContent = cnOf(await c.SubjectName) + " — действителен до " + ruDate(await c.ValidToDate);
        certSelect.appendChild(option);
        pluginCerts.push(c);
      }
      await store.Close();
      if (!pluginCerts.length) {
        showError("В хранилище «Личное» нет сертификатов с закрытым ключом. Подключите токен и обновите страницу или загрузите подпись ниже.");
        return;
      }
      signButton.disabled = false;
    }).catch(function (e) {
      showError("КриптоПро ЭЦП Browser plug-in недоступен (" + why(e) + "). Подпишите данные другим средством и загрузите подпись ниже.");
    });
    signButton.addEventListener("click", async function () {
      var c = pluginCerts[certSelect.selectedIndex];
      if (!c) return;
      signButton.disabled = true;
      pluginError.hidden = true;
      try {
        var key = await c.PublicKey();
        var algorithm = await key.Algorithm;
        var is512 = (await algorithm.Value) === OID_GOST_512;
        var hashed = await plugin.CreateObjectAsync("CAdESCOM.HashedData");
        // CADESCOM_HASH_ALGORITHM_CP_GOST_3411_2012_256 / _512
        await hashed.propset_Algorithm(is512 ? 102 : 101);
        await hashed.SetHashValue(pluginBox.getAttribute(is512 ? "data-hash-512" : "data-hash-256"));
        var raw = await plugin.CreateObjectAsync("CAdESCOM.RawSignature");
        var value = await raw.SignHash(hashed, c);
        var certificate = await c.Export(0); // CADESCOM_ENCODE_BASE64
        signForm.querySelector("[name=signature_text]").value = value;
        signForm.querySelector("[name=certificate_text]").value =
          "-----BEGIN CERTIFICATE-----\n" + String(certificate).replace(/\s+/g, "") + "\n-----END CERTIFICATE-----\n";
        signForm.submit();
      } catch (e) {
        signButton.disabled = false;
        showError("Подпись не создана: " + why(e) + ".");
      }
    });
  }

  // ----- «Вид сведений» changed: what was typed goes along -----
  // The chooser is a GET form; the server gives the new kind's fields the values of the same
  // names (and its ИНН/СНИЛС the case's), so nothing typed is lost by changing the kind.
  var chooser = document.querySelector("form.chooser");
  var requestForm = document.querySelector("form.request-form");
  if (chooser && requestForm) {
    var carry = function () {
      chooser.querySelectorAll("input[data-carried], input[type=hidden][name^=case_]").forEach(function (i) { i.remove(); });
      requestForm.querySelectorAll("input, select, textarea").forEach(function (el) {
        var name = el.name || "";
        if (!/^(case_|f_|x:|c:)/.test(name) || !el.value) return;
        if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = name;
        hidden.value = el.value;
        hidden.setAttribute("data-carried", "");
        chooser.appendChild(hidden);
      });
    };
    chooser.addEventListener("submit", carry);
  }

  // ----- print view -----
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  document.querySelectorAll("[data-tabs]").forEach(function (box) {
    var list = box.querySelector("[role=tablist]");
    var tabs = Array.prototype.slice.call(box.querySelectorAll("[role=tab]"));
    if (!list || !tabs.length) return;
    list.hidden = false;
    box.classList.add("enhanced");
    function select(tab, focus) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(t.getAttribute("aria-controls"));
        if (panel) panel.hidden = !on;
      });
      if (focus) tab.focus();
    }
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function () { select(t, false); });
      t.addEventListener("keydown", function (e) {
        var n = null;
        if (e.key === "ArrowRight") n = tabs[(i + 1) % tabs.length];
        else if (e.key === "ArrowLeft") n = tabs[(i - 1 + tabs.length) % tabs.length];
        else if (e.key === "Home") n = tabs[0];
        else if (e.key === "End") n = tabs[tabs.length - 1];
        if (n) { e.preventDefault(); select(n, true); }
      });
    });
    select(tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0] || tabs[0], false);
  });

  // ----- live statuses -----
  var note = document.querySelector("[data-live-note]");
  function announce(text) { if (note) note.textContent = text; }

  function fetchStatus(ids) {
    return fetch("/ui/status?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      cache: "no-store"
    }).then(function (r) {
      if (r.status === 401) throw new Error("session");
      if (!r.ok) throw new Error("http " + r.status);
      return r.json();
    });
  }

  var panel = document.querySelector("[data-request-panel]");
  if (panel) {
    var id = panel.getAttribute("data-request-panel");
    var loading = false;
    var timer = setInterval(function () {
      if (document.hidden || loading) return;
      loading = true;
      fetchStatus([id]).then(function (data) {
        var item = data.items && data.items[0];
        if (!item || item.updated_at === panel.getAttribute("data-updated")) { loading = false; return; }
        return fetch("/ui/requests/" + encodeURIComponent(id) + "/panel", { credentials: "same-origin", cache: "no-store" })
          .then(function (r) { if (!r.ok) throw new Error("http " + r.status); return r.text(); })
          .then(function (html) {
            var active = document.activeElement && panel.contains(document.activeElement);
            panel.innerHTML = html;
            panel.setAttribute("data-updated", item.updated_at);
            announce("Статус запроса: " + item.label);
            if (active) { panel.setAttribute("tabindex", "-1"); panel.focus(); }
            loading = false;
          });
      }).catch(function (e) {
        loading = false;
        if (String(e.message) === "session") clearInterval(timer);
      });
    }, POLL_MS);
  }

  var badges = Array.prototype.slice.call(document.querySelectorAll("[data-live-status]"));
  if (badges.length && !panel) {
    var ids = badges.map(function (b) { return b.getAttribute("data-live-status"); });
    var listTimer = setInterval(function () {
      if (document.hidden) return;
      fetchStatus(ids.slice(0, 200)).then(function (data) {
        (data.items || []).forEach(function (item) {
          document.querySelectorAll('[data-live-status="' + item.id + '"]').forEach(function (b) {
            if (b.textContent !== item.label) {
              b.className = "badge st-" + item.status;
              b.textContent = item.label;
              announce("Статус изменён: " + item.label);
            }
          });
        });
      }).catch(function (e) {
        if (String(e.message) === "session") clearInterval(listTimer);
      });
    }, POLL_MS);
  }
})();
