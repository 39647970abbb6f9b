// Passkeys on the login, two-factor and profile pages (docs/passkeys.md). Each page marks its part
// with a data-passkey-* element naming its URLs; nothing shows without WebAuthn, and the password
// forms work without this script. Options and credentials travel as the JSON the server's
// library reads: base64url for binary fields.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) {
      bytes[i] = text.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function withIds(descriptors) {
    return (descriptors || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: fromBase64url(descriptor.id) });
    });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: withIds(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) {
        json.response.userHandle = toBase64url(response.userHandle);
      }
    }
    return json;
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  // POST JSON; resolves with the envelope's data, rejects with its error message.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (envelope) {
        if (!envelope.success) {
          throw new Error(envelope.error.message);
        }
        return envelope.data;
      });
    });
  }

  function showError(root, error) {
    var output = root.querySelector("[data-passkey-error]");
    if (error && error.name === "AbortError") {
      return;
    }
    if (error && error.name === "NotAllowedError") {
      output.textContent = output.getAttribute("data-cancelled");
    } else {
      output.textContent = (error && error.message) || String(error);
    }
    output.hidden = false;
  }

  // Sign in with a discoverable passkey: `mediation` "conditional" waits for the autofill choice.
  function signIn(root, mediation, signal) {
    return post(root.getAttribute("data-options-url")).then(function (options) {
      var request = { publicKey: requestOptions(options) };
      if (mediation) {
        request.mediation = mediation;
        request.signal = signal;
      }
      return navigator.credentials.get(request).then(function (credential) {
        return post(root.getAttribute("data-verify-url"), {
          credential: credentialJSON(credential),
        });
      });
    }).then(function (data) {
      window.location.assign(data.redirect);
    });
  }

  function startSignIn(root) {
    var button = root.querySelector("[data-passkey-button]");
    var pending = null;
    var controller = null;
    root.hidden = false;
    if (root.hasAttribute("data-conditional") && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) {
          return;
        }
        var conditional = new AbortController();
        controller = conditional;
        // The background request stays quiet about the browser's own refusals; what the
        // server says about a chosen passkey is shown.
        pending = signIn(root, "conditional", conditional.signal).catch(function (error) {
          if (!conditional.signal.aborted && !(error instanceof DOMException)) {
            showError(root, error);
          }
        });
      });
    }
    button.addEventListener("click", function () {
      var before = Promise.resolve();
      if (controller) {
        controller.abort();
        before = pending;
        controller = null;
      }
      button.disabled = true;
      before.then(function () {
        return signIn(root, null, null);
      }).catch(function (error) {
        showError(root, error);
      }).then(function () {
        button.disabled = false;
      });
    });
  }

  function startRegistration(root) {
    var button = root.querySelector("[data-passkey-button]");
    var nameInput = root.querySelector("[data-passkey-name]");
    var fallback = root.parentNode.querySelector("[data-passkey-fallback]");
    root.hidden = false;
    if (fallback) {
      fallback.hidden = true;
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      post(root.getAttribute("data-options-url")).then(function (options) {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      }).then(function (credential) {
        return post(root.getAttribute("data-verify-url"), {
          credential: credentialJSON(credential),
          name: nameInput.value,
        });
      }).then(function () {
        window.location.reload();
      }).catch(function (error) {
        showError(root, error);
        button.disabled = false;
      });
    });
  }

  document.querySelectorAll("[data-passkey-sign-in]").forEach(startSignIn);
  document.querySelectorAll("[data-passkey-register]").forEach(startRegistration);
})();
