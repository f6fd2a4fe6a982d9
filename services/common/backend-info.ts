/**
 * What every backend's Info answer carries, whatever keeps its pages (the proto's InfoResponse, as the cores build it).
 */
export interface BackendInfoBase {
  capacityPages: number;
  usedPages: number;
  storedBytes: number;
  epoch: string;
  overThreshold: boolean;
  poolLimitBytes: number;
  acceptThresholdPercent: number;
  maxBatch: number;
  volatile: boolean;
  compressor: string;
}
