/**
 * Tiers, the one place they are mapped: the slot table stores a code (3 bits
 * per slot), the API names the proto's `Tier` (generated from
 * coordinator.proto; its numbers are these codes), metrics label them.
 */
import { Tier, type Tier__Output } from '../../proto/generated/vswap/v1/Tier';

/** Backing tier of a slot; the same numbers as the proto's `Tier` (0, TIER_UNSPECIFIED: not allocated). */
export enum TierCode {
  EMPTY = 1,
  ZERO = 2,
  ZSWAP = 3,
  SWAPFILE = 4,
  LOST = 5,
}

export type TierName = Tier__Output;

/** The proto name of each code, indexed by code. */
export const TIER_NAMES: readonly TierName[] = [
  Tier.TIER_UNSPECIFIED,
  Tier.TIER_EMPTY,
  Tier.TIER_ZERO,
  Tier.TIER_ZSWAP,
  Tier.TIER_SWAPFILE,
  Tier.TIER_LOST,
];

/** The proto name of a tier code (TIER_UNSPECIFIED for anything else). */
export function tierName(code: number): TierName {
  return TIER_NAMES[code] ?? Tier.TIER_UNSPECIFIED;
}

/** A metrics label value: `zswap` for TIER_ZSWAP. */
export function tierLabel(code: TierCode): string {
  return tierName(code).slice('TIER_'.length).toLowerCase();
}

/** The tier a page stored on a backend of this kind has. */
export function tierOfBackend(kind: 'zswap' | 'swapfile' | undefined): TierCode {
  return kind === 'zswap' ? TierCode.ZSWAP : TierCode.SWAPFILE;
}

/** True for the tiers whose page lives on a backend (a backend id and handle). */
export function onBackend(code: number): boolean {
  return code === TierCode.ZSWAP || code === TierCode.SWAPFILE;
}
