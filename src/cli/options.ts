// Option parsers shared by the subcommands (commander calls them with the raw string).

/** An integer option ≥ min; the error names the flag and the value given. */
export function intOption(name: string, min: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${v}'`);
    return x;
  };
}
