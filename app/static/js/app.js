// Live segmentation on the home page: every change asks /api/v1/predict (debounced) and fills the server-rendered
// result card and map marker in place. A slider moves its box at once; a box moves its slider only once the typed
// value has been segmented, so the slider never follows a number that is still being typed.
(function () {
  "use strict";
  // Signed in: the session's CSRF token goes with every request that rides on its cookie (base.html's meta tag).
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  function withCsrf(headers) {
    if (csrfMeta) { headers["X-CSRF-Token"] = csrfMeta.content; }
    return headers;
  }

  var DEBOUNCE_MS = 150;
  var TYPING_DEBOUNCE_MS = 450;
  var form = document.getElementById("customer-form");
  var card = document.getElementById("result");
  var outage = document.getElementById("outage");
  var map = document.getElementById("segment-map");
  var marker = document.getElementById("customer-marker");
  var styles = JSON.parse(document.getElementById("segment-styles").textContent);
  var placementData = document.getElementById("map-placement");
  // How the map places a customer: two of the features, or the plane of all of them (charts.segment_map).
  var placement = placementData ? JSON.parse(placementData.textContent) : null;
  // The form's features, in model order; the default model posts them flat, any other as {"features": {...}}.
  var fields = Array.prototype.map.call(form.querySelectorAll("input.number"), function (box) { return box.dataset.field; });
  // explain=true: the card says why, in the words the server renders for the page without JavaScript.
  var predictUrl = (form.dataset.predictUrl || "/api/v1/predict") + "?explain=true";
  var featuresBody = form.dataset.body === "features";
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
    markStale();
  }

  // While any field is invalid the card still shows the last good result: mark it out of date.
  function markStale() {
    var stale = Boolean(form.querySelector(".field.has-error"));
    card.classList.toggle("is-stale", stale);
    card.querySelector('[data-role="stale"]').hidden = !stale;
  }

  function numberText(value) {
    return Number(value.toFixed(1)).toLocaleString("en-US");
  }

  // Worded like the server's pages.out_of_range_notes.
  function outOfRangeNote(item) {
    var d = input(item.feature, "number").dataset;
    var unit = d.unit ? " " + d.unit : "";
    return d.noun + " " + numberText(item.value) + unit + " is outside the " + d.plural + " this model was trained on (" +
      numberText(item.training_min) + "–" + numberText(item.training_max) + unit + "): treat the segment as an extrapolation.";
  }

  // Same rules as the API schema, checked here so a typo never costs a request.
  function readValue(field) {
    var number = input(field, "number");
    var text = number.value.trim();
    var min = number.min === "" ? -Infinity : Number(number.min);
    var max = number.max === "" ? Infinity : Number(number.max);
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

  function renderExplanation(explanation) {
    var list = card.querySelector('[data-field="explanation"]');
    var why = card.querySelector('[data-field="confidence_text"]');
    if (!list || !why) {
      return;
    }
    // An answer without an explanation leaves nothing of the previous customer's on the card.
    list.replaceChildren.apply(
      list,
      (explanation ? explanation.features : []).map(function (item) {
        var line = document.createElement("li");
        line.textContent = item.text;
        return line;
      })
    );
    why.textContent = explanation ? explanation.confidence_text : "";
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
    renderExplanation(prediction.explanation);
    card.querySelector('[data-field="is_atypical"]').hidden = !prediction.is_atypical;
    var notes = card.querySelector('[data-field="out_of_range"]');
    notes.replaceChildren.apply(
      notes,
      prediction.out_of_range.map(function (item) {
        var line = document.createElement("p");
        var lead = document.createElement("strong");
        lead.textContent = "Outside the training data.";
        line.append(lead, " " + outOfRangeNote(item));
        return line;
      })
    );
    notes.hidden = prediction.out_of_range.length === 0;
    card.querySelectorAll('[data-role="details"]').forEach(function (part) { part.hidden = false; });
    var swatch = card.querySelector('[data-role="swatch-path"]');
    if (swatch && style) {
      swatch.setAttribute("d", style.path);
      swatch.setAttribute("fill", style.colour);
    }
  }

  // A customer's place in the map's own units: two features as they are, or projected as projection.py does.
  function mapPoint(values) {
    if (!placement) {
      return [values[fields[0]], values[fields[1]]];
    }
    if (placement.kind === "pair") {
      return [values[placement.x], values[placement.y]];
    }
    var point = [0, 0];
    placement.features.forEach(function (name, f) {
      var seen = placement.log[f] ? Math.log1p(values[name]) : values[name];
      var z = (seen - placement.mean[f]) / placement.scale[f] - placement.center[f];
      point[0] += z * placement.components[0][f];
      point[1] += z * placement.components[1][f];
    });
    return point;
  }

  // Same geometry as charts.map_position: clamped to the plot, with an arrow towards a customer off the chart.
  function moveMarker(values, extrapolated) {
    if (!map || !marker) {
      return;
    }
    var point = mapPoint(values);
    var income = point[0];
    var score = point[1];
    var d = map.dataset;
    var clamp = function (v, lo, hi) { return Math.min(Math.max(v, lo), hi); };
    var x = Number(d.left) + (clamp(income, +d.xMin, +d.xMax) - d.xMin) / (d.xMax - d.xMin) * (d.right - d.left);
    var y = Number(d.bottom) - (clamp(score, +d.yMin, +d.yMax) - d.yMin) / (d.yMax - d.yMin) * (d.bottom - d.top);
    var dx = (income > +d.xMax) - (income < +d.xMin);
    var dy = (score < +d.yMin) - (score > +d.yMax);
    var off = dx !== 0 || dy !== 0;
    marker.setAttribute("transform", "translate(" + x.toFixed(2) + " " + y.toFixed(2) + ")");
    marker.removeAttribute("visibility");
    marker.classList.toggle("is-off-chart", off);
    marker.classList.toggle("is-extrapolated", extrapolated);
    marker.querySelector(".off-chart-arrow").setAttribute("transform", "rotate(" + Math.round(Math.atan2(dy, dx) * 180 / Math.PI) + ")");
    document.querySelector('[data-role="off-chart-note"]').hidden = !off;
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
    fetch(predictUrl, {
      method: "POST",
      headers: withCsrf({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify(featuresBody ? { features: values } : values),
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
          moveMarker(values, answer.body.out_of_range.length > 0);
          // A typed value moves its slider once segmented, unless the user has since moved on (box changed).
          fields.forEach(function (name) {
            var slider = input(name, "slider");
            if (Number(input(name, "number").value) === values[name]) {
              slider.value = String(Math.min(Math.max(values[name], Number(slider.min)), Number(slider.max)));
            }
          });
          // The address keeps the customer, and the segmentation and map pair the page was opened with.
          var query = fields.map(function (name) { return name + "=" + encodeURIComponent(values[name]); });
          form.querySelectorAll("[data-carry]").forEach(function (kept) {
            query.push(kept.name + "=" + encodeURIComponent(kept.value));
          });
          history.replaceState(null, "", "?" + query.join("&"));
          keepInPicker(values);
          if (reveal) {
            revealCard();
          }
        } else if (answer.status >= 500) {
          setOutage(true);
        } else {
          var detail = (answer.body.details || [])[0];
          var field = detail && detail.loc ? detail.loc[detail.loc.length - 1] : null;
          // A segmentation's range errors name the feature first ("tenure is 99, outside its range: ...").
          fields.forEach(function (name) {
            if (!field && String(answer.body.message || "").indexOf(name + " ") === 0) {
              field = name;
            }
          });
          showError(fields.indexOf(field) >= 0 ? field : fields[0], answer.body.message);
        }
      })
      .catch(function () {
        if (request === latest) {
          setOutage(true);
        }
      });
  }

  // The map picker and its link back to the plane keep the customer as they now are, not as the page was sent.
  function keepInPicker(values) {
    // A change found for the customer as the page was sent no longer applies once they change: its text and map
    // path go, and the picker keeps the customer as they now are.
    var cf = document.querySelector(".counterfactual-form");
    if (cf) {
      var moved = false;
      fields.forEach(function (name) {
        var kept = cf.querySelector('input[type="hidden"][name="' + name + '"]');
        if (kept) {
          moved = moved || Number(kept.value) !== values[name];
          kept.value = String(values[name]);
        }
      });
      if (moved) {
        document.querySelectorAll('[data-role="counterfactual-result"]').forEach(function (shown) {
          shown.setAttribute("visibility", "hidden");
          shown.hidden = true;
        });
      }
    }
    var picker = document.querySelector(".map-picker");
    if (!picker) {
      return;
    }
    fields.forEach(function (name) {
      var kept = picker.querySelector('input[type="hidden"][name="' + name + '"]');
      if (kept) {
        kept.value = String(values[name]);
      }
    });
    var back = picker.querySelector('[data-role="plane-link"]');
    if (back) {
      var url = new URL(back.href);
      fields.forEach(function (name) { url.searchParams.set(name, String(values[name])); });
      back.href = url.pathname + url.search;
    }
  }

  function schedule(reveal, delay) {
    clearTimeout(timer);
    timer = setTimeout(function () { predict(reveal); }, delay === undefined ? DEBOUNCE_MS : delay);
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
      // Say at once when the text is invalid, so the card is marked out of date while the user types.
      showError(field, readValue(field).error);
      schedule(false, TYPING_DEBOUNCE_MS);
    });
    number.addEventListener("change", function () { schedule(true); });
  });

  document.querySelector('[data-role="live-hint"]').hidden = false;

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    predict(true);
  });
})();
