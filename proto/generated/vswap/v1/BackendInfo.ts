// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface BackendInfo {
  'name'?: (string);
  'kind'?: (string);
  'store'?: (string);
  'address'?: (string);
  'priority'?: (number);
  'state'?: (string);
  'capacityPages'?: (number | string | Long);
  'usedPages'?: (number | string | Long);
  'storedBytes'?: (number | string | Long);
  'reachable'?: (boolean);
  'epoch'?: (string);
}

export interface BackendInfo__Output {
  'name': (string);
  'kind': (string);
  'store': (string);
  'address': (string);
  'priority': (number);
  'state': (string);
  'capacityPages': (number);
  'usedPages': (number);
  'storedBytes': (number);
  'reachable': (boolean);
  'epoch': (string);
}
