// The one cache convention of a model runtime: everything derived from the loaded model (models
// with extra outputs, the probability head, tail models, compiled backward graphs, the model with
// BatchNorm folded) is kept on the runtime object under a key made of what it was derived for,
// never in a module-level map, and never under the model's source string (two models loaded from
// bytes share "<buffer>"). Sessions of derived models are cached by the engine under the derived
// model object itself.

/** The key of a derived value: its kind and the parameters it was derived for. */
export function derivedKey(kind: string, ...parts: readonly unknown[]): string {
  return JSON.stringify([kind, ...parts]);
}

/** Values derived once per key; a rejected promise is dropped so a later call can retry. */
export class DerivedCache {
  private readonly values = new Map<string, unknown>();

  /** The value under `key`, built by `build` on first use. */
  get<T>(key: string, build: () => T): T {
    if (this.values.has(key)) return this.values.get(key) as T;
    const value = build();
    this.values.set(key, value);
    if (value instanceof Promise) {
      value.catch(() => {
        if (this.values.get(key) === value) this.values.delete(key);
      });
    }
    return value;
  }
}
