package sqlstore

import (
	"context"
	"errors"
	"fmt"
)

// ServingGeneration returns the serving generation: a counter that every
// change of an online endpoint (its keys included) or of an online
// deployment advances in the same transaction (the triggers of migration
// 00023), by whichever process makes it. A release controller that follows
// the store reconciles its data plane only when the generation moved since
// it last did: one primary-key read per tick when nothing changed.
func (s *EndpointService) ServingGeneration(ctx context.Context) (int64, error) {
	if s.db.reader == nil {
		return 0, errors.New("read serving generation: store is not open")
	}
	var gen int64
	if err := s.db.readRow(ctx, `SELECT gen FROM serving_generation WHERE id = 1`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("read serving generation: %w", err)
	}
	return gen, nil
}
