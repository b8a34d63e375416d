"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.handler = void 0;
// The seed post's TypeScript function: subscribed to the SNS topic that the
// uploads bucket notifies, it stores the key of every uploaded object in the
// DynamoDB table "items". The X-Ray SDK for Node.js wraps the AWS SDK v3
// client, so the trace shows S3 -> Lambda -> DynamoDB. It runs unchanged on
// AWS (runtime nodejs20.x, handler index.handler, tracing Active); `npm run
// build` compiles it to index.js, the file Lambda runs.
const client_dynamodb_1 = require("@aws-sdk/client-dynamodb");
const AWSXRay = __importStar(require("aws-xray-sdk-core"));
const table = process.env.TABLE_NAME ?? 'items';
// The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself (the DynamoDB stand-in when
// run locally); on AWS it is unset.
const client = AWSXRay.captureAWSv3Client(new client_dynamodb_1.DynamoDBClient({}));
const handler = async (event) => {
    let stored = 0;
    for (const rec of event.Records) {
        const s3ev = JSON.parse(rec.Sns.Message);
        for (const r of s3ev.Records) {
            const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
            console.log(`storing ${key} from bucket ${r.s3.bucket.name}`);
            await client.send(new client_dynamodb_1.PutItemCommand({ TableName: table, Item: { id: { S: key } } }));
            stored++;
        }
    }
    return { stored };
};
exports.handler = handler;
