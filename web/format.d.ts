// Types of the part of web/format.js its test uses (the page itself has no build step and no types).
export function versionRole(version: string, stable: string | undefined, weight: number, deploying: string | undefined): 'stable' | 'canary' | 'not serving';
