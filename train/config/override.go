package config

import (
	"fmt"
	"strings"
)

// applyOverride applies one -o option, "Key.Path=value", as PaddleClas's
// override_config does: the value is eval'd (or kept as a string when eval
// fails), list levels are indexed by number, and a missing key is created
// (PaddleClas prints "A new field detected"; here the notice says so, and
// the schema then accepts the key or rejects it as unknown).
func applyOverride(root *value, opt string) (notice string, err error) {
	key, val, ok := strings.Cut(opt, "=")
	if !ok || strings.Contains(val, "=") {
		return "", fmt.Errorf("override %q: want Key.Path=value with a single =", opt)
	}
	v, err := evalOrString(val)
	if err != nil {
		return "", fmt.Errorf("override %q: %w", opt, err)
	}
	keys := strings.Split(key, ".")
	cur := root
	for n, k := range keys {
		last := n == len(keys)-1
		path := strings.Join(keys[:n+1], ".")
		switch cur.k {
		case kList:
			idx, err := evalOrString(k)
			if err != nil || idx.k != kInt {
				return "", fmt.Errorf("override %q: %s indexes a list, want an integer", opt, path)
			}
			i := int(idx.i)
			if i < 0 {
				i += len(cur.list)
			}
			if i < 0 || i >= len(cur.list) {
				return "", fmt.Errorf("override %q: %s: index out of range (the list has %d items)", opt, path, len(cur.list))
			}
			if last {
				cur.list[i] = v
			} else {
				cur = cur.list[i]
			}
		case kMap:
			next := cur.get(k)
			switch {
			case last:
				if next == nil {
					notice = fmt.Sprintf("override %s: a new key", path)
				}
				cur.set(k, v)
			case next == nil:
				notice = fmt.Sprintf("override %s: a new section %s", key, path)
				next = &value{k: kMap}
				cur.set(k, next)
			}
			cur = next
		default:
			parent := strings.Join(keys[:n], ".")
			return "", fmt.Errorf("override %q: %s is %s, not a mapping or list", opt, parent, cur.describe())
		}
	}
	return notice, nil
}
