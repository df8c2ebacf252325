package checkout

// SeenLen is the number of payments in the processor's duplicate cache, or
// -1 when it is off.
func (p *Processor) SeenLen() int {
	if p.seen == nil {
		return -1
	}
	return p.seen.len()
}
