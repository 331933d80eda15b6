'use strict';

// The demo's progress line: on a terminal one line, rewritten as steps and their
// counters move; anywhere else one plain line per finished step, so logs stay readable.

class Progress {
  constructor(total, stream = process.stdout) {
    this.total = total;
    this.done = 0;
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
    this.label = '';
  }

  /** Starts the next step. */
  step(label) {
    this.label = label;
    this._draw('');
  }

  /** Shows how far the current step is (a terminal only). */
  tick(detail) {
    this._draw(detail);
  }

  /** Ends the current step with `outcome`. */
  finish(outcome) {
    this.done++;
    if (this.tty) this.stream.write('\r\x1b[2K');
    this.stream.write(`[${this.done}/${this.total}] ${this.label}: ${outcome}\n`);
  }

  _draw(detail) {
    if (!this.tty) return;
    const line = `[${this.done + 1}/${this.total}] ${this.label}…${detail ? ` ${detail}` : ''}`;
    this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns || 80) - 1)}`);
  }
}

module.exports = { Progress };
