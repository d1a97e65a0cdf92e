// The draw-a-digit page of network3 serve.
//
// What is drawn on the pad (or the picture uploaded) goes to the server as
// a file, POST /api/predict; the server prepares it with network3.load_image
// and answers with the digit, the probabilities, the 28x28 image the net
// saw and the first layer's feature maps, which this script shows.  Nothing
// about the image is computed here: the page draws and shows.
//
// While a stroke goes down the pad is sent again as soon as the answer
// before comes back (one request at a time), and at once when the stroke
// ends (an answer older than one shown is dropped).  For tests and the curious, <body> says how many answers have been
// shown (data-answered), whether one is awaited (data-busy) and how long the
// last stroke took to reach the bars, in milliseconds (data-latency).
"use strict";

(() => {
  const pad = document.getElementById("pad");
  const context = pad.getContext("2d");
  const statusLine = document.getElementById("status");
  const digit = document.getElementById("digit");
  const bars = document.getElementById("bars");
  const prepared = document.getElementById("prepared");
  const mapsCard = document.getElementById("maps-card");
  const maps = document.getElementById("maps");
  const fileInput = document.getElementById("file");
  const INK = "#000";
  const STROKE = 20;          // px of the 280-px pad: MNIST's pen, 2 of 28 pixels
  const HELLO = statusLine.textContent;

  let pointer = null;         // the pointer drawing now
  let last = null;            // where it was
  let empty = true;           // nothing drawn or uploaded since Clear
  let upload = null;          // the uploaded file, sent as it is until a stroke
  let waiting = 0;            // requests awaiting their answers
  let again = false;          // the pad changed while one was
  let sent = 0;               // requests sent, numbered
  let newest = 0;             // the number of the newest answer shown
  let generation = 0;         // Clear starts a new one; older answers are dropped
  let strokeEnded = null;     // when the latest stroke ended, until its answer shows

  //// Drawing
  function clearPad() {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, pad.width, pad.height);
  }

  function at(event) {
    const box = pad.getBoundingClientRect();
    return {x: (event.clientX - box.left) * pad.width / box.width,
            y: (event.clientY - box.top) * pad.height / box.height};
  }

  function dot(at) {
    context.fillStyle = INK;
    context.beginPath();
    context.arc(at.x, at.y, STROKE / 2, 0, 2 * Math.PI);
    context.fill();
  }

  function stroke(from, to) {
    context.strokeStyle = INK;
    context.lineWidth = STROKE;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
  }

  pad.addEventListener("pointerdown", (event) => {
    if (pointer !== null || (event.pointerType === "mouse" && event.button !== 0)) {
      return;
    }
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    pointer = event.pointerId;
    last = at(event);
    dot(last);
    empty = false;
    upload = null;
    ask();
  });

  pad.addEventListener("pointermove", (event) => {
    if (event.pointerId !== pointer) {
      return;
    }
    const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const move of moves.length ? moves : [event]) {
      const point = at(move);
      stroke(last, point);
      last = point;
    }
    ask();
  });

  function strokeEnds(event) {
    if (event.pointerId !== pointer) {
      return;
    }
    pointer = null;
    strokeEnded = performance.now();
    ask(true);
  }
  pad.addEventListener("pointerup", strokeEnds);
  pad.addEventListener("pointercancel", strokeEnds);

  //// Asking the server
  function picture() {
    if (upload !== null) {
      return Promise.resolve(upload);
    }
    return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
  }

  function ask(now = false) {
    // While drawing, one request at a time (the pad is sent again when it
    // comes back); a stroke's end (now) is sent at once, beside any
    // request still out, whose older answer is then never shown.
    if (empty) {
      return;
    }
    if (waiting > 0 && !now) {
      again = true;
      return;
    }
    again = false;
    waiting += 1;
    document.body.dataset.busy = "true";
    const asked = {generation, strokeEnded, number: ++sent};
    picture()
      .then((body) => fetch("/api/predict", {
        method: "POST", body,
        headers: {"Content-Type": body.type || "application/octet-stream"}}))
      .then((response) => response.json().then((answer) => {
        if (asked.generation !== generation || asked.number < newest) {
          return;
        }
        newest = asked.number;
        if (!response.ok) {
          say("The server says: " + answer.error, true);
        } else {
          show(answer, asked.strokeEnded);
        }
      }))
      .catch((error) => say("No answer from the server (" + error.message +
                            "): is network3 serve still running?", true))
      .finally(() => {
        waiting -= 1;
        if (again && waiting === 0) {
          ask();
        } else if (waiting === 0) {
          document.body.dataset.busy = "false";
        }
      });
  }

  //// Showing the answer
  function say(text, error = false) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", error);
  }

  function makeBars(classes) {
    bars.replaceChildren();
    for (let k = 0; k < classes; k++) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      const track = document.createElement("span");
      const fill = document.createElement("span");
      const value = document.createElement("span");
      label.textContent = k;
      track.className = "track";
      fill.className = "fill";
      value.className = "value";
      value.textContent = "";
      track.append(fill);
      item.append(label, track, value);
      bars.append(item);
    }
  }

  function grey(canvas, rows, low, high) {
    // rows of values drawn as grey levels, low black and high white
    const height = rows.length;
    const width = rows[0].length;
    canvas.width = width;
    canvas.height = height;
    const image = canvas.getContext("2d").createImageData(width, height);
    const span = high > low ? high - low : 1;
    rows.forEach((row, i) => row.forEach((v, j) => {
      const level = Math.round(255 * Math.min(1, Math.max(0, (v - low) / span)));
      const at = 4 * (i * width + j);
      image.data[at] = image.data[at + 1] = image.data[at + 2] = level;
      image.data[at + 3] = 255;
    }));
    canvas.getContext("2d").putImageData(image, 0, 0);
  }

  function showMaps(featureMaps) {
    if (featureMaps === null) {
      return;
    }
    while (maps.children.length < featureMaps.length) {
      const canvas = document.createElement("canvas");
      canvas.setAttribute("aria-label", "feature map " + maps.children.length);
      maps.append(canvas);
    }
    // one scale for every map, so that a strong one looks stronger
    let low = Infinity;
    let high = -Infinity;
    for (const map of featureMaps) {
      for (const row of map) {
        for (const v of row) {
          low = Math.min(low, v);
          high = Math.max(high, v);
        }
      }
    }
    featureMaps.forEach((map, k) => grey(maps.children[k], map, low, high));
  }

  function show(answer, ended) {
    if (bars.children.length !== answer.probabilities.length) {
      makeBars(answer.probabilities.length);
    }
    answer.probabilities.forEach((p, k) => {
      const item = bars.children[k];
      item.querySelector(".fill").style.width = (100 * p).toFixed(2) + "%";
      item.querySelector(".value").textContent = (100 * p).toFixed(1) + "%";
      item.classList.toggle("picked", k === answer.digit);
    });
    digit.textContent = answer.digit;
    grey(prepared, answer.prepared, 0, 1);
    showMaps(answer.feature_maps);
    say(upload !== null ? "The answer for " + upload.name + "." :
        "Keep drawing, or Clear and draw another digit.");
    document.body.dataset.answered = Number(document.body.dataset.answered) + 1;
    if (ended !== null && ended === strokeEnded) {
      // from the stroke's end to the bars, once the browser has drawn them
      requestAnimationFrame(() => {
        document.body.dataset.latency = (performance.now() - ended).toFixed(1);
      });
      strokeEnded = null;
    }
  }

  function reset() {
    generation += 1;
    empty = true;
    upload = null;
    again = false;
    strokeEnded = null;
    clearPad();
    digit.textContent = "?";
    for (const item of bars.children) {
      item.querySelector(".fill").style.width = "0";
      item.querySelector(".value").textContent = "";
      item.classList.remove("picked");
    }
    prepared.getContext("2d").clearRect(0, 0, prepared.width, prepared.height);
    for (const canvas of maps.children) {
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
    say(HELLO);
  }

  //// Clear and upload
  document.getElementById("clear").addEventListener("click", reset);

  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    fileInput.value = "";      // the same file chosen again is a change too
    if (!file) {
      return;
    }
    reset();
    upload = file;
    empty = false;
    // the picture shown on the pad, fitted (the server is sent the file)
    createImageBitmap(file).then((bitmap) => {
      if (upload !== file) {
        return;
      }
      const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
      const width = bitmap.width * scale;
      const height = bitmap.height * scale;
      context.drawImage(bitmap, (pad.width - width) / 2, (pad.height - height) / 2,
                        width, height);
    }).catch(() => {});
    ask();
  });

  //// The model
  fetch("/api/model").then((response) => response.json()).then((model) => {
    document.getElementById("model-file").textContent = model.file;
    const layers = document.getElementById("layers");
    for (const layer of model.layers) {
      const item = document.createElement("li");
      item.textContent = layer;
      layers.append(item);
    }
    makeBars(model.classes);
    mapsCard.hidden = model.feature_maps === null;
  }).catch(() => say("No answer from the server: is network3 serve running?", true));

  clearPad();
})();
