/**
 * Command lines from templates, without a shell: each template element becomes exactly one
 * argument, its `{name}` placeholders replaced by values. A value can never split into two
 * arguments (nothing is parsed by a shell) and can never become an option: a value that would
 * start an argument with `-` is refused, unless the template put a literal `--` before it.
 */
import { Either } from "effect"

const PLACEHOLDER = /\{([a-z][a-z0-9_-]*)\}/g

/** The names a template element refers to. */
export const placeholders = (element: string): ReadonlyArray<string> => [...element.matchAll(PLACEHOLDER)].map((m) => m[1]!)

/**
 * argv from `template` and `values` (name → value). An element naming a parameter that has no
 * value is left out (an optional parameter not given); `Left` says why a value cannot be used.
 */
export const expand = (template: ReadonlyArray<string>, values: ReadonlyMap<string, string>): Either.Either<Array<string>, string> => {
  const argv: Array<string> = []
  let afterDoubleDash = false
  for (const element of template) {
    const names = placeholders(element)
    if (names.some((n) => !values.has(n))) continue
    for (const n of names) {
      if (values.get(n)!.includes("\0")) return Either.left(`The value of ${n} holds a NUL character, which no argument can carry.`)
    }
    const expanded = element.replace(PLACEHOLDER, (_, n: string) => values.get(n)!)
    // A dash the template wrote is the provider's option; a dash a value brings is refused.
    if (!afterDoubleDash && expanded.startsWith("-") && !element.startsWith("-")) {
      return Either.left(`The value of ${names[0]} ("${expanded.slice(0, 40)}") would be read as an option; values must not start with "-".`)
    }
    if (element === "--") afterDoubleDash = true
    argv.push(expanded)
  }
  return Either.right(argv)
}
