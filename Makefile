.PHONY: test example sandbox bench

# Every test: go vet, go test -race, a short benchmark pass, client-js.
test:
	bash scripts/test.sh

example:
	go run ./example

bench:
	go test -run '^$$' -bench . -benchmem ./...
