// A claimant's fair part of a limit shared by `claimants` workers: limit ÷ claimants, rounded
// down, and one more for the first (limit mod claimants) ranks, so the parts add up to the
// limit exactly (4 among 3: 2, 1, 1) and every worker can compute its own without talking to
// the others. Pure.
export function fairShare(limit: number, claimants: number, rank: number): number {
	if (claimants <= 1) return limit;
	return Math.floor(limit / claimants) + (rank < limit % claimants ? 1 : 0);
}
