package blob

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
)

// Which list a block of a Put Block List is taken from.
type blockSource int

const (
	fromLatest blockSource = iota
	fromCommitted
	fromUncommitted
)

// blockRef is one entry of a Put Block List body.
type blockRef struct {
	ID     string // base64, as sent
	Source blockSource
}

// maxBlockIDBytes is Azure's limit on a decoded block id.
const maxBlockIDBytes = 64

// parseBlockList reads <BlockList><Latest|Committed|Uncommitted>id</...>...
// in document order, at most limit entries.
func parseBlockList(r io.Reader, limit int) ([]blockRef, error) {
	dec := xml.NewDecoder(r)
	var refs []blockRef
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalid("InvalidXmlDocument", "block list body: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if err := checkBlockElement(depth, t.Name.Local); err != nil {
				return nil, err
			}
			if depth == 2 {
				ref, err := readBlockRef(dec, t)
				if err != nil {
					return nil, err
				}
				if len(refs) == limit {
					return nil, invalid("InvalidBlockList", "the block list has more than %d blocks", limit)
				}
				refs = append(refs, ref)
				depth--
			}
		case xml.EndElement:
			depth--
		}
	}
	return refs, nil
}

func checkBlockElement(depth int, name string) error {
	if depth == 1 && name != "BlockList" {
		return invalid("InvalidXmlDocument", "block list body: root element is <%s>, want <BlockList>", name)
	}
	if depth > 2 {
		return invalid("InvalidXmlDocument", "block list body: unexpected element <%s>", name)
	}
	return nil
}

func readBlockRef(dec *xml.Decoder, t xml.StartElement) (blockRef, error) {
	var src blockSource
	switch t.Name.Local {
	case "Latest":
		src = fromLatest
	case "Committed":
		src = fromCommitted
	case "Uncommitted":
		src = fromUncommitted
	default:
		return blockRef{}, invalid("InvalidXmlDocument", "block list body: unexpected element <%s>", t.Name.Local)
	}
	var id string
	if err := dec.DecodeElement(&id, &t); err != nil {
		return blockRef{}, invalid("InvalidXmlDocument", "block list body: <%s>: %v", t.Name.Local, err)
	}
	if err := validBlockID(id); err != nil {
		return blockRef{}, err
	}
	return blockRef{ID: id, Source: src}, nil
}

// validBlockID checks a block id: base64 of at most 64 bytes.
func validBlockID(id string) error {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(raw) == 0 || len(raw) > maxBlockIDBytes {
		return invalid("InvalidQueryParameterValue", "blockid %q must be base64 of 1 to %d bytes", id, maxBlockIDBytes)
	}
	return nil
}

// blockListXML renders a Get Block List answer.
// blockListXML is a Get Block List body: the lists asked for, each
// written even when empty, as Azure does.
type blockListXML struct {
	XMLName     xml.Name   `xml:"BlockList"`
	Committed   *blocksXML `xml:"CommittedBlocks"`
	Uncommitted *blocksXML `xml:"UncommittedBlocks"`
}

type blocksXML struct {
	Blocks []blockXML `xml:"Block"`
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

func (b blockRef) String() string { return fmt.Sprintf("%d:%s", b.Source, b.ID) }
