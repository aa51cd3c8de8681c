// Live segmentation on the home page: sliders and number inputs stay in sync, and every change asks
// /api/v1/predict (debounced) and fills the server-rendered result card and map marker in place.
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var form = document.getElementById("customer-form");
  var card = document.getElementById("result");
  var outage = document.getElementById("outage");
  var map = document.getElementById("segment-map");
  var marker = document.getElementById("customer-marker");
  var styles = JSON.parse(document.getElementById("segment-styles").textContent);
  var fields = ["annual_income", "spending_score"];
  var timer = null;
  var latest = 0;

  function input(field, kind) {
    return document.getElementById(field + "-" + kind);
  }

  function showError(field, message) {
    var box = form.querySelector('[data-error-for="' + field + '"]');
    var number = input(field, "number");
    box.textContent = message || "";
    box.hidden = !message;
    number.setAttribute("aria-invalid", message ? "true" : "false");
    number.closest(".field").classList.toggle("has-error", Boolean(message));
  }

  // Same rules as the API schema, checked here so a typo never costs a request.
  function readValue(field) {
    var number = input(field, "number");
    var text = number.value.trim();
    var min = Number(number.min);
    var max = Number(number.max);
    if (text === "") {
      return { error: "Enter a number." };
    }
    var value = Number(text);
    if (!Number.isFinite(value)) {
      return { error: "'" + text.slice(0, 20) + "' is not a number." };
    }
    if (value < min || value > max) {
      return { error: "Enter a value " + number.dataset.rangeText + "." };
    }
    return { value: value };
  }

  function setField(name, text) {
    var slot = card.querySelector('[data-field="' + name + '"]');
    if (slot) {
      slot.textContent = text;
    }
  }

  function render(prediction) {
    var style = styles[String(prediction.segment_id)];
    card.dataset.segmentId = String(prediction.segment_id);
    setField("segment_name", prediction.segment_name);
    setField("description", prediction.description);
    setField("confidence", Math.round(prediction.confidence * 100) + "%");
    setField("runner_up", prediction.runner_up ? prediction.runner_up.segment_name : "none");
    var list = card.querySelector('[data-field="marketing_strategy"]');
    list.replaceChildren.apply(
      list,
      prediction.marketing_strategy.map(function (action) {
        var item = document.createElement("li");
        item.textContent = action;
        return item;
      })
    );
    card.querySelector('[data-field="is_atypical"]').hidden = !prediction.is_atypical;
    var swatch = card.querySelector('[data-role="swatch-path"]');
    if (swatch && style) {
      swatch.setAttribute("d", style.path);
      swatch.setAttribute("fill", style.colour);
    }
  }

  function moveMarker(income, score) {
    if (!map || !marker) {
      return;
    }
    var d = map.dataset;
    var clamp = function (v, lo, hi) { return Math.min(Math.max(v, lo), hi); };
    var x = Number(d.left) + (clamp(income, +d.xMin, +d.xMax) - d.xMin) / (d.xMax - d.xMin) * (d.right - d.left);
    var y = Number(d.bottom) - (clamp(score, +d.yMin, +d.yMax) - d.yMin) / (d.yMax - d.yMin) * (d.bottom - d.top);
    marker.setAttribute("transform", "translate(" + x.toFixed(2) + " " + y.toFixed(2) + ")");
    marker.removeAttribute("visibility");
  }

  function setOutage(visible) {
    outage.hidden = !visible;
  }

  function predict(reveal) {
    var values = {};
    var valid = true;
    fields.forEach(function (field) {
      var read = readValue(field);
      showError(field, read.error);
      if (read.error) {
        valid = false;
      } else {
        values[field] = read.value;
      }
    });
    if (!valid) {
      return; // keep the last good result on screen
    }
    var request = ++latest;
    fetch("/api/v1/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(values),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (answer) {
        if (request !== latest) {
          return; // a newer request is on its way; drop this stale answer
        }
        if (answer.status === 200) {
          setOutage(false);
          render(answer.body);
          moveMarker(values.annual_income, values.spending_score);
          var query = "?annual_income=" + encodeURIComponent(values.annual_income) + "&spending_score=" + encodeURIComponent(values.spending_score);
          history.replaceState(null, "", query);
          if (reveal) {
            revealCard();
          }
        } else if (answer.status >= 500) {
          setOutage(true);
        } else {
          var detail = (answer.body.details || [])[0];
          var field = detail && detail.loc ? detail.loc[detail.loc.length - 1] : null;
          showError(fields.indexOf(field) >= 0 ? field : "annual_income", answer.body.message);
        }
      })
      .catch(function () {
        if (request === latest) {
          setOutage(true);
        }
      });
  }

  function schedule(reveal) {
    clearTimeout(timer);
    timer = setTimeout(function () { predict(reveal); }, DEBOUNCE_MS);
  }

  // On small screens the card can sit below the fold: bring it into view once a change is complete.
  function revealCard() {
    var box = card.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  fields.forEach(function (field) {
    var slider = input(field, "slider");
    var number = input(field, "number");
    slider.addEventListener("input", function () {
      number.value = slider.value;
      schedule(false);
    });
    slider.addEventListener("change", function () { schedule(true); });
    number.addEventListener("input", function () {
      var read = readValue(field);
      if (!read.error) {
        slider.value = String(Math.min(Math.max(read.value, Number(slider.min)), Number(slider.max)));
      }
      schedule(false);
    });
    number.addEventListener("change", function () { schedule(true); });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    predict(true);
  });
})();
