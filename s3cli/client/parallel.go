package client

import (
	"context"
	"fmt"
	"sync"
)

// parallel runs work for every part index in [0, n) on at most workers goroutines; worker
// (0..workers-1) lets each goroutine keep its own buffers. The first error cancels the others
// and is returned as work gave it; when the caller's ctx ends first, its error is returned
// wrapped with op.
func parallel(ctx context.Context, op string, n, workers int64, work func(ctx context.Context, worker int, i int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int64)
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for w := range int(min(workers, n)) {
		wg.Go(func() {
			for i := range jobs {
				if err := work(ctx, w, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
