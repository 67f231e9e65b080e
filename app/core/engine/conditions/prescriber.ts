/**
 * `prescriber` (需专科医师处方, 限副主任医师以上): the ordering department and the doctor's
 * title. A department or title the check does not carry is for the doctor to attest.
 */
import { DOCTOR_TITLES, type DoctorTitle } from '../../../../rules-cache/model';
import { parseDoctorTitle } from '../titles';
import type { Condition } from './outcome';

export const titleNames: Readonly<Record<DoctorTitle, string>> = {
  assistant: '医士',
  physician: '医师',
  attending: '主治医师',
  associateChief: '副主任医师',
  chief: '主任医师',
};

export const prescriberCondition: Condition = ({ fields }, _view, context, result) => {
  const prescriber = fields.prescriber;
  if (!prescriber) return;
  const { visit } = context.check;
  if (prescriber.depts) {
    const deptText = prescriber.deptNames ?? prescriber.depts.join('、');
    const dept = visit.dept?.code;
    if (dept === undefined) result.confirm.push(`处方科室为${deptText}`);
    else if (!prescriber.depts.some((prefix) => dept.startsWith(prefix))) {
      result.failed.push({
        requirement: 'prescriber',
        expected: { depts: prescriber.depts },
        actual: { dept: visit.dept },
        text: `限${deptText}处方，本次为${visit.dept?.name ?? dept}`,
      });
    }
  }
  if (prescriber.titleMin) {
    const wanted = `${titleNames[prescriber.titleMin]}及以上`;
    const title = parseDoctorTitle(visit.doctor?.title);
    if (title === undefined) result.confirm.push(`处方医师为${wanted}`);
    else if (DOCTOR_TITLES.indexOf(title) < DOCTOR_TITLES.indexOf(prescriber.titleMin)) {
      result.failed.push({
        requirement: 'prescriber',
        expected: { titleMin: prescriber.titleMin },
        actual: { title },
        text: `限${wanted}处方，${visit.doctor?.name ?? '本次医师'}为${titleNames[title]}`,
      });
    }
  }
};
