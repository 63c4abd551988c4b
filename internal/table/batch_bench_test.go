package table

import (
	"strconv"
	"testing"
)

// BenchmarkBatch is one entity group transaction of n upserts;
// BenchmarkUpserts the same n upserts one by one.
func BenchmarkBatch(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			env := newEnvClock(&testing.T{}, nil)
			_ = env.svc.CreateTable(env.ctx, "app", "bench")
			ops := make([]BatchOp, n)
			for i := range ops {
				ops[i] = BatchOp{Kind: BatchUpsert, Entity: entity("p", strconv.Itoa(i), map[string]Value{"N": Int32(int32(i))})}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := env.svc.Batch(env.ctx, "app", "bench", ops); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUpserts(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			env := newEnvClock(&testing.T{}, nil)
			_ = env.svc.CreateTable(env.ctx, "app", "bench")
			b.ResetTimer()
			for range b.N {
				for i := range n {
					e := entity("p", strconv.Itoa(i), map[string]Value{"N": Int32(int32(i))})
					if _, err := env.svc.Upsert(env.ctx, "app", "bench", e, Replace); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
