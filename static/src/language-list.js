// The language picker's order and search, as pure functions: 80-odd languages are listed by family
// (the manifest's `group`) and found by typing any of their names.

const OTHER = "Other";

/** A language's label in the picker: its name and version. */
export function optionLabel(language) {
  const name = language.name || language.id;
  return language.version ? `${name} ${language.version}` : name;
}

/**
 * The languages by family: groups in alphabetical order (Other last), languages by name within each.
 * @returns {{group: string, languages: object[]}[]}
 */
export function groupLanguages(languages) {
  const groups = new Map();
  for (const language of languages) {
    const group = language.group || OTHER;
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(language);
  }
  const byName = (a, b) => (a.name || a.id).localeCompare(b.name || b.id, "en", { sensitivity: "base" });
  return [...groups.keys()]
    .sort((a, b) => (a === OTHER) - (b === OTHER) || a.localeCompare(b, "en"))
    .map((group) => ({ group, languages: groups.get(group).sort(byName) }));
}

/** Whether a language answers a search: every word of it is part of its name, id, an alias or its family. */
export function matchesSearch(language, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const names = [language.name, language.id, language.group, ...(language.aliases || [])]
    .filter((n) => typeof n === "string")
    .map((n) => n.toLowerCase());
  return words.every((word) => names.some((name) => name.includes(word)));
}

/** The language a search should pick on Enter: an exact name first, else the first match in picker order. */
export function bestMatch(languages, query) {
  const wanted = query.trim().toLowerCase();
  if (!wanted) return null;
  const ordered = groupLanguages(languages).flatMap((g) => g.languages);
  const exact = ordered.find((l) =>
    [l.id, l.name, ...(l.aliases || [])].some((n) => typeof n === "string" && n.toLowerCase() === wanted),
  );
  return exact ?? ordered.find((l) => matchesSearch(l, query)) ?? null;
}
