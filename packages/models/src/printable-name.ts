/** No control characters, no path separators, no lone UTF-16 surrogates. */
export function isPrintableName(name: string): boolean {
  if (/[/\\]|[\uD800-\uDFFF]/u.test(name)) return false;
  return [...name].every((character) => {
    const code = character.codePointAt(0)!;
    return code >= 0x20 && code !== 0x7f;
  });
}
