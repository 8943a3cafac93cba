// Strict field decoding of the objects' top level and `status`, as the apiserver's strict decoder
// (kubectl's default, fieldValidation=Strict) refuses unknown fields: field names from k8s.io/api
// core/v1, apps/v1 and batch/v1. Only the names are checked; Podwall reads nothing from status but
// a pod's addresses and phase.
import type { FieldDecoder, Json } from './decode.js';
import type { FieldPath } from './diagnostics.js';
import type { EndpointKind } from './types.js';

export const TOP_LEVEL_FIELDS: readonly string[] = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

const POD_STATUS_FIELDS: readonly string[] = [
  'observedGeneration',
  'phase',
  'conditions',
  'message',
  'reason',
  'nominatedNodeName',
  'hostIP',
  'hostIPs',
  'podIP',
  'podIPs',
  'startTime',
  'initContainerStatuses',
  'containerStatuses',
  'qosClass',
  'ephemeralContainerStatuses',
  'resize',
  'resourceClaimStatuses',
  'extendedResourceClaimStatus',
  'allocatedResources',
  'resources',
  'nodeAllocatableResourceClaimStatuses',
  'volumeHealth',
];
const POD_CONDITION_FIELDS: readonly string[] = ['type', 'observedGeneration', 'status', 'lastProbeTime', 'lastTransitionTime', 'reason', 'message'];
const CONTAINER_STATUS_FIELDS: readonly string[] = [
  'name',
  'state',
  'lastState',
  'ready',
  'restartCount',
  'image',
  'imageID',
  'containerID',
  'started',
  'allocatedResources',
  'resources',
  'volumeMounts',
  'user',
  'allocatedResourcesStatus',
  'stopSignal',
];
const CONTAINER_STATE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  waiting: ['reason', 'message'],
  running: ['startedAt'],
  terminated: ['exitCode', 'signal', 'reason', 'message', 'startedAt', 'finishedAt', 'containerID'],
};
const OBJECT_REFERENCE_FIELDS: readonly string[] = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'];

/** `lastTransitionTime` conditions (apps/v1 and core/v1 controllers, namespaces). */
const CONDITION_FIELDS: readonly string[] = ['type', 'status', 'lastTransitionTime', 'reason', 'message'];

interface StatusFields {
  readonly fields: readonly string[];
  readonly conditionFields: readonly string[];
}

const WORKLOAD_STATUS: Readonly<Record<Exclude<EndpointKind, 'Pod'>, StatusFields>> = {
  Deployment: {
    fields: ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'terminatingReplicas', 'conditions', 'collisionCount'],
    conditionFields: ['type', 'status', 'lastUpdateTime', 'lastTransitionTime', 'reason', 'message'],
  },
  StatefulSet: {
    fields: ['observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'currentRevision', 'updateRevision', 'collisionCount', 'conditions', 'availableReplicas'],
    conditionFields: CONDITION_FIELDS,
  },
  DaemonSet: {
    fields: [
      'currentNumberScheduled',
      'numberMisscheduled',
      'desiredNumberScheduled',
      'numberReady',
      'observedGeneration',
      'updatedNumberScheduled',
      'numberAvailable',
      'numberUnavailable',
      'collisionCount',
      'conditions',
    ],
    conditionFields: CONDITION_FIELDS,
  },
  ReplicaSet: {
    fields: ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'terminatingReplicas', 'observedGeneration', 'conditions'],
    conditionFields: CONDITION_FIELDS,
  },
  ReplicationController: {
    fields: ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration', 'conditions'],
    conditionFields: CONDITION_FIELDS,
  },
  Job: {
    fields: ['conditions', 'startTime', 'completionTime', 'active', 'succeeded', 'failed', 'terminating', 'completedIndexes', 'failedIndexes', 'uncountedTerminatedPods', 'ready'],
    conditionFields: ['type', 'status', 'lastProbeTime', 'lastTransitionTime', 'reason', 'message'],
  },
  CronJob: { fields: ['active', 'lastScheduleTime', 'lastSuccessfulTime'], conditionFields: [] },
};

/** core/v1 PodStatus, with the conditions, addresses and container statuses the kubelet (and the lab's pod runner) write; podIPs are decoded with the pod. */
export function checkPodStatus(d: FieldDecoder, status: Json, path: FieldPath = ['status']): void {
  d.knownFields(status, POD_STATUS_FIELDS, path);
  d.knownFieldsOfEach(status.conditions, POD_CONDITION_FIELDS, [...path, 'conditions']);
  d.knownFieldsOfEach(status.hostIPs, ['ip'], [...path, 'hostIPs']);
  d.knownFieldsOfEach(status.resourceClaimStatuses, ['name', 'resourceClaimName'], [...path, 'resourceClaimStatuses']);
  for (const field of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    d.knownFieldsOfEach(status[field], CONTAINER_STATUS_FIELDS, [...path, field]).forEach((container, i) => {
      for (const stateField of ['state', 'lastState']) {
        const statePath = [...path, field, i, stateField];
        const state = d.object(container[stateField], statePath);
        if (!state) continue;
        d.knownFields(state, Object.keys(CONTAINER_STATE_FIELDS), statePath);
        for (const [which, fields] of Object.entries(CONTAINER_STATE_FIELDS)) {
          const detail = d.object(state[which], [...statePath, which]);
          if (detail) d.knownFields(detail, fields, [...statePath, which]);
        }
      }
    });
  }
}

/** The status of a workload kind (DeploymentStatus, JobStatus, ...). */
export function checkWorkloadStatus(d: FieldDecoder, kind: Exclude<EndpointKind, 'Pod'>, status: Json): void {
  const { fields, conditionFields } = WORKLOAD_STATUS[kind];
  d.knownFields(status, fields, ['status']);
  if (conditionFields.length > 0) d.knownFieldsOfEach(status.conditions, conditionFields, ['status', 'conditions']);
  if (kind === 'CronJob') d.knownFieldsOfEach(status.active, OBJECT_REFERENCE_FIELDS, ['status', 'active']);
  if (kind === 'Job') {
    const uncounted = d.object(status.uncountedTerminatedPods, ['status', 'uncountedTerminatedPods']);
    if (uncounted) d.knownFields(uncounted, ['succeeded', 'failed'], ['status', 'uncountedTerminatedPods']);
  }
}

/** core/v1 Namespace: spec.finalizers, status.phase and conditions. */
export function checkNamespaceFields(d: FieldDecoder, obj: Json): void {
  d.knownFields(obj, TOP_LEVEL_FIELDS, []);
  const spec = d.object(obj.spec, ['spec']);
  if (spec) d.knownFields(spec, ['finalizers'], ['spec']);
  const status = d.object(obj.status, ['status']);
  if (status) {
    d.knownFields(status, ['phase', 'conditions'], ['status']);
    d.knownFieldsOfEach(status.conditions, CONDITION_FIELDS, ['status', 'conditions']);
  }
}
