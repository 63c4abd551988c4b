package storage

// collate orders canonicalized header names as Azure Storage does (and
// the azblob and azqueue SDKs with it): not by bytes but by a culture-aware
// comparison in which '-' and some other punctuation are ignored at first
// ("x-ms-meta-a" and "x-ms-metaa" compare by their letters), and decide
// only between names that are otherwise equal.
func collate(a, b string) int {
	if c := comparePrimary(a, b); c != 0 {
		return c
	}
	return compareSecondary(a, b)
}

// primaryWeight is a byte's weight at the first level; 0 means ignored.
func primaryWeight(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return letterWeights[c-'a']
	case c >= 'A' && c <= 'Z':
		return letterWeights[c-'A']
	case c == '0':
		return 0xd03
	case c >= '1' && c <= '9':
		return 0xd1a + 2*int(c-'1')
	}
	switch c {
	case '!':
		return 0x71c
	case '#':
		return 0x71f
	case '$':
		return 0x721
	case '%':
		return 0x723
	case '&':
		return 0x725
	case '*':
		return 0x72d
	case '+':
		return 0x803
	case '.':
		return 0x733
	case '^':
		return 0x743
	case '_':
		return 0x744
	case '`':
		return 0x748
	case '|':
		return 0x74c
	case '~':
		return 0x750
	}
	return 0
}

// letterWeights are the first-level weights of a..z (case-insensitive).
var letterWeights = [26]int{
	0xe02, 0xe09, 0xe0a, 0xe1a, 0xe21, 0xe23, 0xe25, 0xe2c, 0xe32, 0xe35, 0xe36, 0xe48, 0xe51,
	0xe70, 0xe7c, 0xe7e, 0xe89, 0xe8a, 0xe91, 0xe99, 0xe9f, 0xea2, 0xea4, 0xea6, 0xea7, 0xea9,
}

// comparePrimary compares the sequences of non-ignored first-level
// weights; a sequence that is a prefix of the other sorts first.
func comparePrimary(a, b string) int {
	i, j := 0, 0
	for {
		for i < len(a) && primaryWeight(a[i]) == 0 {
			i++
		}
		for j < len(b) && primaryWeight(b[j]) == 0 {
			j++
		}
		switch {
		case i == len(a) && j == len(b):
			return 0
		case i == len(a):
			return -1
		case j == len(b):
			return 1
		}
		if wa, wb := primaryWeight(a[i]), primaryWeight(b[j]); wa != wb {
			return cmpInt(wa, wb)
		}
		i++
		j++
	}
}

// secondaryWeight is the last level's weight: only '\” and '-' count.
func secondaryWeight(s string, i int) int {
	if i >= len(s) {
		return 1 // the end
	}
	switch s[i] {
	case '\'':
		return 0x8012
	case '-':
		return 0x8212
	}
	return 0
}

// compareSecondary walks both names position by position: at the first
// position where they differ, a name with an ordinary character there
// sorts before one with a '-' or '\”, and a name that ended sorts after.
func compareSecondary(a, b string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		wa, wb := secondaryWeight(a, i), secondaryWeight(b, i)
		switch {
		case wa == wb:
			continue
		case wa == 0:
			return -1
		case wb == 0:
			return 1
		}
		return cmpInt(wa, wb)
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
