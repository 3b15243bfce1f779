import {
  createRemoteClients,
  resolveStack,
  StackNotFoundError,
  StackOutputsMissingError,
  STACK_OUTPUTS,
} from '../../remote';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import { createStack, motoOptions } from './moto-stack';

const run = requirePythonSide('moto', 'remote stack resolution');
(run ? describe : describe.skip)('resolving a deployed stack by name (moto CloudFormation)', () => {
  let moto: MotoServer;
  beforeAll(async () => (moto = await startMoto()));
  afterAll(async () => moto.stop());
  afterEach(async () => resetMoto(moto));

  test('the stack outputs become the StackInfo every remote verb uses', async () => {
    await createStack(moto, 'etl-prod', 'stack-template.json');

    const info = await resolveStack('etl-prod', createRemoteClients(motoOptions(moto)));

    expect(info.stackName).toBe('etl-prod');
    expect(info.region).toBe('us-east-1');
    expect(info.landingBucket).toMatch(/^etl-prod-landingbucket-/i);
    expect(info.lakeBucket).toMatch(/^etl-prod-lakebucket-/i);
    expect(info.landingBucket).not.toBe(info.lakeBucket);
    expect(info.stateMachineArn).toMatch(/^arn:aws:states:us-east-1:\d{12}:stateMachine:/);
    expect(info.athenaWorkGroup).toBe('etl-cli');
    expect(info.glueDatabase).toBe('etl_lake');
  });

  test('a stack without the outputs is refused, naming every missing output', async () => {
    await createStack(moto, 'someone-elses', 'stack-template-no-outputs.json');

    const resolving = resolveStack('someone-elses', createRemoteClients(motoOptions(moto)));

    await expect(resolving).rejects.toBeInstanceOf(StackOutputsMissingError);
    await expect(resolving).rejects.toMatchObject({ missing: Object.keys(STACK_OUTPUTS) });
    await expect(resolving).rejects.toThrow(/someone-elses.*LandingBucketName.*Fix: deploy/);
  });

  test('an unknown stack name says which region was searched and what to check', async () => {
    const resolving = resolveStack('no-such-stack', createRemoteClients(motoOptions(moto)));

    await expect(resolving).rejects.toBeInstanceOf(StackNotFoundError);
    await expect(resolving).rejects.toThrow(
      /"no-such-stack" was not found in us-east-1.*--region.*--profile/,
    );
  });

  test('a name CloudFormation could never have is refused before any call', async () => {
    const clients = createRemoteClients(motoOptions(moto));

    await expect(resolveStack("etl'; drop", clients)).rejects.toThrow(/is not a CloudFormation stack name/);
  });
});
