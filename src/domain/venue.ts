export type VenueSide = 'LONG' | 'SHORT';
export interface VenuePosition { symbol: string; side: VenueSide; size: number; entry_price?: number | null }
