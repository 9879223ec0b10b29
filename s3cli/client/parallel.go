package client

import (
	"context"
	"fmt"
	"sync"
)

// parallel runs work on every job that feed sends, on at most workers goroutines; worker
// (0..workers-1) lets each goroutine keep its own buffers. feed must return when ctx is done.
// The first error of work cancels the others and is returned as work gave it; a failing feed
// is returned wrapped with op, and so is the caller's ctx when it ends first. work is called
// for every job sent, even after a failure (with a cancelled ctx), so it can release what the
// job holds.
func parallel[J any](ctx context.Context, op string, workers int, feed func(ctx context.Context, jobs chan<- J) error, work func(ctx context.Context, worker int, job J) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan J)
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for w := range max(workers, 1) {
		wg.Go(func() {
			for j := range jobs {
				if err := work(ctx, w, j); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
	feedErr := feed(ctx, jobs)
	close(jobs)
	wg.Wait()
	switch {
	case firstErr != nil:
		return firstErr
	case feedErr != nil:
		return fmt.Errorf("%s: %w", op, feedErr)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// indices feeds the job numbers 0..n-1.
func indices(n int64) func(ctx context.Context, jobs chan<- int64) error {
	return func(ctx context.Context, jobs chan<- int64) error {
		for i := range n {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	}
}
