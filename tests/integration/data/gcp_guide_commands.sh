# The gcloud command lines of Google's guide "Set up a regional internal Application Load
# Balancer with Cloud Run" (code samples Apache 2.0, Google), with `gcloud` replaced by
# `albemu gcloud`. The guide's placeholders are shell variables the caller sets (REGION,
# SERVERLESS_NEG_NAME, CRT_FILE_PATH, ...); ALBEMU_API names the running `albemu serve --api`.
# The client VM, firewall and ssh steps are left out: they are outside the load balancer.
#
# GUIDE_PART=setup (the default) builds the load balancer and applies the optional keepalive
# updates; GUIDE_PART=cleanup detaches the serverless NEG and deletes it, as the guide's last
# section does.

set -eu

if [ "${GUIDE_PART:-setup}" = setup ]; then

albemu gcloud run deploy $CLOUD_RUN_SERVICE_NAME \
--platform=managed \
--allow-unauthenticated \
--ingress=internal \
--region=$REGION \
--image=$IMAGE_URL

albemu gcloud compute networks create lb-network --subnet-mode=custom

albemu gcloud compute networks subnets create lb-subnet \
--network=lb-network \
--range=10.1.2.0/24 \
--region=$REGION

albemu gcloud compute networks subnets create proxy-only-subnet \
--purpose=REGIONAL_MANAGED_PROXY \
--role=ACTIVE \
--region=$REGION \
--network=lb-network \
--range=10.129.0.0/23

albemu gcloud compute network-endpoint-groups create $SERVERLESS_NEG_NAME \
--region=$REGION \
--network-endpoint-type=serverless \
--cloud-run-service=$CLOUD_RUN_SERVICE_NAME

albemu gcloud compute backend-services create $BACKEND_SERVICE_NAME \
--load-balancing-scheme=INTERNAL_MANAGED \
--protocol=HTTP \
--region=$REGION

albemu gcloud compute backend-services add-backend $BACKEND_SERVICE_NAME \
--region=$REGION \
--network-endpoint-group=$SERVERLESS_NEG_NAME \
--network-endpoint-group-region=$REGION

albemu gcloud compute url-maps create $URL_MAP_NAME \
--default-service=$BACKEND_SERVICE_NAME \
--region=$REGION

albemu gcloud compute ssl-certificates create $SSL_CERTIFICATE_NAME \
--certificate $CRT_FILE_PATH \
--private-key $KEY_FILE_PATH \
--region=$REGION

albemu gcloud compute target-http-proxies create $TARGET_HTTP_PROXY_NAME \
--url-map=$URL_MAP_NAME \
--region=$REGION

albemu gcloud compute target-https-proxies create $TARGET_HTTPS_PROXY_NAME \
--ssl-certificates=$SSL_CERTIFICATE_NAME \
--url-map=$URL_MAP_NAME \
--region=$REGION

albemu gcloud compute forwarding-rules create $HTTP_FORWARDING_RULE_NAME \
--load-balancing-scheme=INTERNAL_MANAGED \
--network=lb-network \
--subnet=lb-subnet \
--target-http-proxy=$TARGET_HTTP_PROXY_NAME \
--target-http-proxy-region=$REGION \
--region=$REGION \
--ports=80

albemu gcloud compute forwarding-rules create $HTTPS_FORWARDING_RULE_NAME \
--load-balancing-scheme=INTERNAL_MANAGED \
--network=lb-network \
--subnet=lb-subnet \
--target-https-proxy=$TARGET_HTTPS_PROXY_NAME \
--target-https-proxy-region=$REGION \
--region=$REGION \
--ports=443

# Optional: a serverless NEG with a URL mask.
albemu gcloud compute network-endpoint-groups create $SERVERLESS_NEG_MASK_NAME \
--region=$REGION \
--network-endpoint-type=serverless \
--cloud-run-url-mask="example.com/<service>"

# Optional: the client HTTP keepalive timeout.
albemu gcloud compute target-http-proxies update $TARGET_HTTP_PROXY_NAME \
--http-keep-alive-timeout-sec=$HTTP_KEEP_ALIVE_TIMEOUT_SEC \
--region=$REGION

# The guide's text names TARGET_HTTP_PROXY_NAME here; the HTTPS proxy is the one meant.
albemu gcloud compute target-https-proxies update $TARGET_HTTPS_PROXY_NAME \
--http-keep-alive-timeout-sec=$HTTP_KEEP_ALIVE_TIMEOUT_SEC \
--region $REGION

fi

if [ "${GUIDE_PART:-setup}" = cleanup ]; then

albemu gcloud compute backend-services remove-backend $BACKEND_SERVICE_NAME \
--network-endpoint-group=$SERVERLESS_NEG_NAME \
--network-endpoint-group-region=$REGION \
--region=$REGION

albemu gcloud compute network-endpoint-groups delete $SERVERLESS_NEG_NAME \
--region=$REGION

fi
