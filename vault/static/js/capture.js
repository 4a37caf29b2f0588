// Capturing in the field app (issue #15): the signed capture statement, the audio recorder and
// the optional location.
//
// The capture statement says, under the user's Ed25519 key, what was captured, when by the
// device's clock and where (if asked): {v, kind: "capture", capture_id, case_id, user_id,
// media_type, size, sha256, device_time, clock: "device", location}. It is made the moment the
// bytes exist, before they are stored, and travels sealed with the item (sealed field
// "capture"). Anyone who can read the item checks it against the item's own SHA-256 and the
// uploader's key (capturefacts.js here, vault/domain/capture.py in Python). The server's receipt
// time follows at upload. Signed statements carry integers only (trust.js canonicalJson), so the
// location's degrees are decimal strings with six places (about 0.1 m).
import * as vc from "./crypto.js";
import { makeStatement } from "./trust.js";

const deviceNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** Sign what was captured: `bytes` (Uint8Array) at `deviceTime`, for `caseId`. */
export function captureStatement(keys, { captureId, caseId, userId, mediaType, bytes, deviceTime, location }) {
  const body = {
    v: 1, kind: "capture", capture_id: captureId, case_id: caseId, user_id: userId, media_type: mediaType,
    size: bytes.length, sha256: vc.sha256Hex(bytes), device_time: deviceTime, clock: "device", location: location || null,
  };
  return makeStatement("capture", body, keys.signSeed);
}

/** Where the device is, if the person allows it: {lat, lon, accuracy_m} or null (refused, no fix in time). */
export function currentLocation(timeoutMs = 15000) {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({ lat: pos.coords.latitude.toFixed(6), lon: pos.coords.longitude.toFixed(6),
        accuracy_m: Math.round(pos.coords.accuracy || 0) }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 60000 },
    );
  });
}

/**
 * An audio statement recorded in the page (MediaRecorder). The recording stays in this page's
 * memory until stop(), which hands it over for encryption: it is never written anywhere in the clear.
 */
export class AudioCapture {
  static async start() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
    const mimeType = types.find((m) => window.MediaRecorder && MediaRecorder.isTypeSupported(m)) || "";
    return new AudioCapture(stream, mimeType);
  }

  constructor(stream, mimeType) {
    this.stream = stream;
    this.chunks = [];
    this.startedAt = deviceNow();
    this.began = Date.now();
    this.recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    this.bytes = 0; // so far: the page stops a recording before it outgrows what it can encrypt
    this.recorder.ondataavailable = (ev) => {
      if (!ev.data.size) return;
      this.chunks.push(ev.data);
      this.bytes += ev.data.size;
    };
    this.recorder.start(1000);
  }

  /** Stop: {bytes, mediaType, deviceTime} — the time is the recording's start. */
  stop() {
    return new Promise((resolve, reject) => {
      this.recorder.onstop = async () => {
        this.stream.getTracks().forEach((tr) => tr.stop());
        const mediaType = (this.recorder.mimeType || "audio/webm").split(";")[0];
        try {
          const bytes = new Uint8Array(await new Blob(this.chunks).arrayBuffer());
          this.chunks = [];
          resolve({ bytes, mediaType, deviceTime: this.startedAt });
        } catch (err) {
          reject(err);
        }
      };
      this.recorder.stop();
    });
  }

  cancel() {
    this.recorder.onstop = null;
    if (this.recorder.state !== "inactive") this.recorder.stop();
    this.stream.getTracks().forEach((tr) => tr.stop());
    this.chunks = [];
  }
}

export { deviceNow };
