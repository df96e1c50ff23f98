#!/bin/sh
# Acceptance of the API issue from the client side: realistic manifests of
# every kind the issue lists (probes, security contexts, affinity,
# tolerations, volumeClaimTemplates, HPA v2 behavior, Ingress rules,
# NetworkPolicy, RBAC, a CRD and its custom resource) apply unchanged with
# real kubectl and with kpctl, and `get -o json` gives back every field the
# manifest set. The manifests are read with python3's yaml module, not with
# kplane, and compared leaf by leaf (fields the server adds are ignored).
test_description='acceptance: real manifests through kubectl and kpctl read back whole'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

HOME=$TRASH_DIRECTORY
export HOME
KUBECONFIG=$TRASH_DIRECTORY/no-kubeconfig
export KUBECONFIG
unset KPLANE_SERVER

if ! python3 -c 'import yaml' 2>/dev/null; then
	echo "1..0 # SKIP python3 with the yaml module is needed to read the manifests"
	exit 0
fi

cat >m.yaml <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    team: web
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels: {app: web}
data:
  nginx.conf: |
    server {
      listen 8080;
    }
  LOG_LEVEL: info
---
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
  namespace: shop
type: kubernetes.io/tls
data:
  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app.kubernetes.io/name: web
  annotations:
    owner: team-web
spec:
  replicas: 3
  revisionHistoryLimit: 5
  progressDeadlineSeconds: 300
  selector:
    matchLabels:
      app: web
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 1
  template:
    metadata:
      labels:
        app: web
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: web
      terminationGracePeriodSeconds: 45
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 2000
        seccompProfile:
          type: RuntimeDefault
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: kubernetes.io/os
                operator: In
                values: [linux]
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 50
            preference:
              matchExpressions:
              - key: node-type
                operator: In
                values: [web]
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  app: web
      tolerations:
      - key: dedicated
        operator: Equal
        value: web
        effect: NoSchedule
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 60
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app: web
      initContainers:
      - name: init
        image: busybox:1.36
        command: ["sh", "-c", "echo init"]
      containers:
      - name: nginx
        image: nginx:1.25.3
        imagePullPolicy: IfNotPresent
        args: ["-g", "daemon off;"]
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        env:
        - name: LOG_LEVEL
          valueFrom:
            configMapKeyRef:
              name: web-config
              key: LOG_LEVEL
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: MODE
          value: production
        envFrom:
        - configMapRef:
            name: web-config
        resources:
          requests:
            cpu: 250m
            memory: 128Mi
          limits:
            cpu: "1"
            memory: 256Mi
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: ["ALL"]
            add: ["NET_BIND_SERVICE"]
        livenessProbe:
          httpGet:
            path: /healthz
            port: http
            httpHeaders:
            - name: X-Probe
              value: liveness
          initialDelaySeconds: 10
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 4
        readinessProbe:
          tcpSocket:
            port: 8080
          periodSeconds: 5
          successThreshold: 2
        startupProbe:
          exec:
            command: ["cat", "/tmp/ready"]
          failureThreshold: 30
          periodSeconds: 2
        lifecycle:
          preStop:
            exec:
              command: ["sh", "-c", "sleep 5"]
        volumeMounts:
        - name: config
          mountPath: /etc/nginx/conf.d
          readOnly: true
        - name: cache
          mountPath: /var/cache/nginx
        - name: tls
          mountPath: /etc/tls
          readOnly: true
      volumes:
      - name: config
        configMap:
          name: web-config
          items:
          - key: nginx.conf
            path: default.conf
      - name: cache
        emptyDir:
          sizeLimit: 64Mi
      - name: tls
        secret:
          secretName: web-tls
          defaultMode: 0400
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  type: NodePort
  selector:
    app: web
  sessionAffinity: ClientIP
  ports:
  - name: http
    port: 80
    targetPort: http
    nodePort: 30080
    protocol: TCP
  - name: metrics
    port: 9113
    targetPort: 9113
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /
spec:
  ingressClassName: nginx
  tls:
  - hosts: [shop.example.com]
    secretName: web-tls
  defaultBackend:
    service:
      name: web
      port:
        number: 80
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              name: http
      - path: /api
        pathType: ImplementationSpecific
        backend:
          service:
            name: api
            port:
              number: 8080
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-allow
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: ingress-nginx
      podSelector:
        matchLabels:
          app.kubernetes.io/name: ingress-nginx
    - ipBlock:
        cidr: 10.0.0.0/8
        except: [10.1.0.0/16]
    ports:
    - protocol: TCP
      port: 8080
  egress:
  - to:
    - podSelector:
        matchExpressions:
        - key: app
          operator: In
          values: [db, cache]
    ports:
    - protocol: TCP
      port: 5432
      endPort: 5440
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 70
  - type: Resource
    resource:
      name: memory
      target:
        type: AverageValue
        averageValue: 200Mi
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      selectPolicy: Min
      policies:
      - type: Percent
        value: 50
        periodSeconds: 60
      - type: Pods
        value: 2
        periodSeconds: 60
    scaleUp:
      stabilizationWindowSeconds: 0
      selectPolicy: Max
      policies:
      - type: Pods
        value: 4
        periodSeconds: 15
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: shop
spec:
  minAvailable: 2
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      app: web
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-data-1
  labels:
    type: local
spec:
  storageClassName: manual
  capacity:
    storage: 10Gi
  volumeMode: Filesystem
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: /mnt/data1
    type: DirectoryOrCreate
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - key: kubernetes.io/hostname
          operator: In
          values: [node-1]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: uploads
  namespace: shop
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  volumeMode: Filesystem
  resources:
    requests:
      storage: 5Gi
  selector:
    matchLabels:
      type: local
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: db
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      partition: 0
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: Retain
    whenScaled: Delete
  template:
    metadata:
      labels:
        app: db
    spec:
      securityContext:
        fsGroup: 999
      containers:
      - name: postgres
        image: postgres:16
        ports:
        - name: pg
          containerPort: 5432
        env:
        - name: PGDATA
          value: /var/lib/postgresql/data/pgdata
        readinessProbe:
          exec:
            command: ["pg_isready", "-U", "postgres"]
          initialDelaySeconds: 5
        resources:
          requests:
            cpu: 500m
            memory: 1Gi
        volumeMounts:
        - name: data
          mountPath: /var/lib/postgresql/data
  volumeClaimTemplates:
  - metadata:
      name: data
      labels:
        app: db
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: standard
      resources:
        requests:
          storage: 20Gi
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: log-agent
  namespace: shop
spec:
  selector:
    matchLabels:
      app: log-agent
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  minReadySeconds: 10
  template:
    metadata:
      labels:
        app: log-agent
    spec:
      priorityClassName: system-node-critical
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      nodeSelector:
        kubernetes.io/os: linux
      tolerations:
      - operator: Exists
      containers:
      - name: agent
        image: fluent/fluent-bit:2.2
        resources:
          limits:
            memory: 200Mi
        securityContext:
          privileged: true
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
  namespace: shop
spec:
  schedule: "30 2 * * *"
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 200
  successfulJobsHistoryLimit: 2
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      backoffLimit: 2
      activeDeadlineSeconds: 600
      ttlSecondsAfterFinished: 3600
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: postgres:16
            command: ["pg_dump", "-h", "db", "-f", "/backup/db.sql"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
spec:
  completions: 3
  parallelism: 2
  completionMode: Indexed
  backoffLimit: 4
  template:
    metadata:
      labels:
        job: migrate
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: migrate/migrate:v4
        args: ["-path", "/migrations", "up"]
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
  labels:
    app: debug
spec:
  restartPolicy: Always
  hostname: debug
  subdomain: db
  dnsConfig:
    nameservers: [1.1.1.1]
    options:
    - name: ndots
      value: "2"
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    supplementalGroups: [4000]
    sysctls:
    - name: net.ipv4.ip_local_port_range
      value: "32768 60999"
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: topology.kubernetes.io/zone
        labelSelector:
          matchExpressions:
          - key: app
            operator: In
            values: [web]
  tolerations:
  - key: example.com/gpu
    operator: Exists
    effect: NoSchedule
  containers:
  - name: shell
    image: busybox:1.36
    command: ["sleep", "infinity"]
    stdin: true
    tty: true
    workingDir: /tmp
    livenessProbe:
      grpc:
        port: 9090
      periodSeconds: 20
    securityContext:
      runAsNonRoot: true
      capabilities:
        drop: ["NET_RAW"]
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: shop-quota
  namespace: shop
spec:
  hard:
    requests.cpu: "4"
    requests.memory: 8Gi
    pods: "20"
---
apiVersion: v1
kind: LimitRange
metadata:
  name: shop-limits
  namespace: shop
spec:
  limits:
  - type: Container
    default:
      cpu: 500m
      memory: 256Mi
    defaultRequest:
      cpu: 100m
      memory: 64Mi
    max:
      cpu: "2"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
  namespace: shop
rules:
- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments/scale]
  resourceNames: [web]
  verbs: [get, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-config-reader
  namespace: shop
subjects:
- kind: ServiceAccount
  name: web
  namespace: shop
- kind: User
  name: jane
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: Role
  name: config-reader
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: node-viewer
  labels:
    rbac.example.com/aggregate-to-view: "true"
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list, watch]
- nonResourceURLs: [/healthz, /metrics]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: node-viewer-ops
subjects:
- kind: Group
  name: ops
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: node-viewer
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: shop-high
value: 100000
globalDefault: false
preemptionPolicy: PreemptLowerPriority
description: Shop front-end pods.
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: shop-leader
  namespace: shop
spec:
  holderIdentity: web-1
  leaseDurationSeconds: 15
  leaseTransitions: 3
YAML

cat >crd.yaml <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: backups
    singular: backup
    kind: Backup
    shortNames: [bk]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [schedule]
            properties:
              schedule:
                type: string
                pattern: '^[0-9*/ ,-]+$'
              retentionDays:
                type: integer
                minimum: 1
                default: 7
              targets:
                type: array
                items:
                  type: object
                  properties:
                    name: {type: string}
                    kind:
                      type: string
                      enum: [Database, Volume]
          status:
            type: object
            properties:
              lastRun: {type: string, format: date-time}
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Schedule
      type: string
      jsonPath: .spec.schedule
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
YAML

cat >cr.yaml <<'YAML'
apiVersion: stable.example.com/v1
kind: Backup
metadata:
  name: nightly
  namespace: shop
  labels: {app: db}
spec:
  schedule: "30 2 * * *"
  retentionDays: 14
  targets:
  - name: db
    kind: Database
  - name: uploads
    kind: Volume
YAML

# One JSON document per line for each manifest document.
python3 -c '
import sys, yaml, json
for f in sys.argv[1:]:
    for d in yaml.safe_load_all(open(f)):
        if d:
            print(json.dumps(d))
' m.yaml crd.yaml cr.yaml >docs.jsonl || exit 1

# Every manifest object as TYPE/NAME (Kind.group/name), for one get of all.
jq -r '.kind + (.apiVersion | if test("/") then "." + sub("/.*"; "") else "" end) +
	"/" + .metadata.name' docs.jsonl >names

# Each leaf of a manifest (scalar, empty list or empty map) that the object
# read back (the item of the same kind and name) lacks or holds differently,
# as "Kind/name path: want X got Y".
cat >sub.jq <<'EOF'
.items as $items
| $docs[] as $m
| ([$items[] | select(.kind == $m.kind and .metadata.name == $m.metadata.name)] | first) as $o
| if $o == null then "\($m.kind)/\($m.metadata.name): not read back"
  else
    [$m | paths(type != "object" and type != "array" or length == 0)][]
    | . as $p
    | select(($m | getpath($p)) != ($o | getpath($p)))
    | "\($m.kind)/\($m.metadata.name) \($p | map(tostring) | join(".")): want \($m | getpath($p) | tojson) got \($o | getpath($p) | tojson)"
  end
EOF

# readback CLIENT...: gets every manifest object with CLIENT (kubectl or
# kpctl, pointed at a server) and lists the differences in diffs.
readback() {
	"$@" get -n shop -o json $(cat names) >objs.json &&
	jq -r --slurpfile docs docs.jsonl -f sub.jq objs.json >diffs &&
	if test -s diffs; then cat diffs; false; fi
}

# resource_versions FILE: kind, name and resourceVersion of each item.
resource_versions() {
	jq -c '.items[] | [.kind, .metadata.name, .metadata.resourceVersion]' "$1"
}

start_server --store memory || exit 1
KS=$S
start_server --store memory || exit 1
PS=$S

# test_kubectl NAME CMDS: test_expect_success, or a SKIP naming kubectl.
test_kubectl() {
	if command -v kubectl >/dev/null 2>&1; then
		test_expect_success "$@"
	else
		test_skip "$1 (kubectl not found)"
	fi
}
k() { timeout 60 kubectl --server "$KS" "$@"; }
p() { kpctl --server "$PS" "$@"; }

test_kubectl 'kubectl apply creates every manifest' '
	k apply -f m.yaml >out &&
	test $(grep -c " created$" out) = $(grep -c "^kind:" m.yaml) &&
	k apply -f crd.yaml &&
	k wait --for=condition=Established crd/backups.stable.example.com &&
	k apply -f cr.yaml >out && grep "^backup.stable.example.com/nightly created$" out
'

test_kubectl 'kubectl get -o json returns every field the manifests gave' '
	readback k
'

# Applying again sends no patch except for the Pod: its tolerations are an
# atomic list to which DefaultTolerationSeconds admission added two, so
# kubectl sends the manifest's list (and prints "configured", as it does
# against a real cluster); admission adds them back on the update, so
# nothing changes. kubectl prints no warning about the OpenAPI schema (it
# did for fields the schema left untyped: a StatefulSet's
# updateStrategy.rollingUpdate, a CRD's spec).
test_kubectl 'applying the same manifests again changes nothing' '
	k get -n shop -o json $(cat names) >before.json &&
	k apply -f m.yaml -f crd.yaml -f cr.yaml >out 2>err &&
	! test -s err &&
	{ grep -v " unchanged$" out >changed || :; } &&
	echo "pod/debug configured" >expect &&
	test_cmp expect changed &&
	k get -n shop -o json $(cat names) >after.json &&
	resource_versions before.json >rv1 && resource_versions after.json >rv2 &&
	test_cmp rv1 rv2 &&
	k get pod -n shop debug -o json >debug.json &&
	jq -r ".spec.tolerations[] | [.key, .operator, .effect, .tolerationSeconds] | @tsv" \
		debug.json >tol &&
	printf "%s\t%s\t%s\t%s\n" example.com/gpu Exists NoSchedule "" \
		node.kubernetes.io/not-ready Exists NoExecute 300 \
		node.kubernetes.io/unreachable Exists NoExecute 300 >expect &&
	test_cmp expect tol
'

test_expect_success 'kpctl apply creates every manifest' '
	p apply -f m.yaml >out &&
	test $(grep -c " created$" out) = $(grep -c "^kind:" m.yaml) &&
	p apply -f crd.yaml &&
	i=0 && until p get crd backups.stable.example.com -o json |
		jq -e ".status.conditions[] | select(.type == \"Established\" and .status == \"True\")" >/dev/null
	do i=$((i + 1)); test $i -lt 50 || break; sleep 0.1; done &&
	p apply -f cr.yaml >out && grep "^backup.stable.example.com/nightly created$" out
'

test_expect_success 'kpctl get -o json returns every field the manifests gave' '
	readback p
'

test_expect_success 'kpctl apply of the same manifests again: only the Pod is patched' '
	p get -n shop -o json $(cat names) >before.json &&
	p apply -f m.yaml >out && p apply -f crd.yaml >>out && p apply -f cr.yaml >>out &&
	{ grep -v " unchanged$" out >changed || :; } &&
	echo "pod/debug configured" >expect &&
	test_cmp expect changed &&
	p get -n shop -o json $(cat names) >after.json &&
	resource_versions before.json >rv1 && resource_versions after.json >rv2 &&
	test_cmp rv1 rv2
'

# Tables of the kinds the manifests made, with kubectl's printer columns
# (pkg/printers/internalversion); the cells worked out from the manifests.
# Ages become N, the creation time T, and runs of blanks one blank. No
# controller runs, so the PV and the PVC stay Pending; access modes are
# short (RWO); with no metrics in the HPA's status its targets are
# <unknown>.
cat >tables.expect <<'EOF'
NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE CONTAINERS IMAGES SELECTOR
backup 30 2 * * * Etc/UTC False 0 <none> N backup postgres:16 <none>
NAME CLASS HOSTS ADDRESS PORTS AGE
web nginx shop.example.com 80, 443 N
NAME POD-SELECTOR AGE
web-allow app=web N
NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE
web 2 N/A 0 N
NAME SECRETS AGE
web 0 N
NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS
web-config-reader Role/config-reader N jane shop/web
NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS
node-viewer-ops ClusterRole/node-viewer N ops
NAME HOLDER AGE
shop-leader web-1 N
NAME CREATED AT
config-reader T
NAME CREATED AT
shop-limits T
NAME READY AGE CONTAINERS IMAGES
db 0/2 N postgres postgres:16
NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE VOLUMEMODE
pv-data-1 10Gi RWO Retain Pending manual <unset> N Filesystem
NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE VOLUMEMODE
uploads Pending manual <unset> N Filesystem
NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE
web Deployment/web cpu: <unknown>/70%, memory: <unknown>/200Mi 2 10 0 N
EOF

# tables CLIENT...: the tables above through CLIENT, normalised.
tables() {
	for what in cronjob/backup ingress/web networkpolicy/web-allow pdb/web sa/web \
		rolebinding/web-config-reader clusterrolebinding/node-viewer-ops lease/shop-leader \
		role/config-reader limitrange/shop-limits statefulset/db pv/pv-data-1 pvc/uploads \
		hpa/web
	do
		"$@" get -n shop -o wide "$what" || return 1
	done | sed -E -e 's/   +/ /g' -e 's/ +$//' -e 's/ [0-9]+(s|m)( |$)/ N\2/' \
		-e 's/ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$/ T/'
}

test_kubectl 'kubectl get prints each kind with its kubectl columns' '
	tables k >tables.out &&
	test_cmp tables.expect tables.out
'

test_expect_success 'kpctl get prints the same tables' '
	tables p >tables.out &&
	test_cmp tables.expect tables.out
'

test_done
