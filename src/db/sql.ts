/** Collects positional parameters while a raw statement is assembled: `sql.param(v)` → `$n`. */
export class SqlParams {
  readonly values: unknown[] = [];

  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
