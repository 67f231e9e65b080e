/**
 * How each restriction text of examples/nrdl-sample.tsv is encoded in the starter library
 * (rules-cache/nrdl/), and how faithfully: `exact` (every condition is coded), `attest` (the
 * coded conditions are checked and what no code can show is a `confirm` the doctor attests),
 * `approximate` (part of the restriction is lost; `why` says which part and which way it
 * errs), `none` (not encoded; `why`). Diagnoses are 医保版 ICD-10 prefixes, procedures
 * ICD-9-CM-3, drug classes ATC prefixes as the national code carries them.
 */

export type Coverage = 'exact' | 'attest' | 'approximate' | 'none';

export interface Encoding {
  coverage: Coverage;
  why?: string;
  /** `require` of the indication rule; absent when the text restricts nothing but a course. */
  require?: Record<string, unknown>;
  /** A course cap (支付不超过N天, 单次住院…): a `days` rule beside the indication rule. */
  course?: { maxDays: number; window: 'fromFirstUse' | 'admission' };
  /** Quantity caps: `limit` rules, keyed so drugs counted together share one rule. */
  limits?: Array<{ key: string; prefix: string; maxQty: number; per: 'lifetime' | 'year'; level: 'warn' | 'block'; title: string; message?: string }>;
  /** Rule level; block unless the encoding is approximate in a way that could stop compliant use. */
  level?: 'warn' | 'block';
}

const CHILD = { ageMax: 17 };
const ADULT = { ageMin: 18 };
const LEVEL2 = { hospitalLevelMin: 2 };
const INPATIENT = { visitTypes: ['inpatient'] };
const NUTRITION_RISK = '经营养风险筛查明确具有营养风险，且不能经饮食或使用肠内营养剂补充足够营养';
const ISCHEMIC_CARDIO_CEREBRAL = ['I20-I25', 'I63', 'I65-I67', 'G45'];
const ANTI_VEGF = 'XS01LA';

const perEyeWhy =
  '每眼累计和首个治疗年度的上限无法按眼别计数(医嘱不带眼别): 按患者合计提醒(级别为提醒), 双眼用药时会多提醒; 首个治疗年度按自然年计';

/** Restriction text (without a trailing 。) → its encoding. */
export const ENCODINGS: ReadonlyArray<readonly [string, Encoding]> = [
  ['限儿童及吞咽困难患者', { coverage: 'attest', require: { anyOf: [CHILD, { diagnoses: ['R13'] }, { confirm: '吞咽困难' }] } }],
  ['限1型糖尿病患者；限其他短效胰岛素或口服药难以控制的2型糖尿病患者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['E10'] }, { diagnoses: ['E11'], confirm: '其他短效胰岛素或口服药难以控制' }] } }],
  ['限1型糖尿病患者；限中长效胰岛素难以控制的2型糖尿病患者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['E10'] }, { diagnoses: ['E11'], confirm: '中长效胰岛素难以控制' }] } }],
  ['限儿童佝偻病', { coverage: 'exact', require: { ...CHILD, diagnoses: ['E55.0'] } }],
  ['限有明确的重度免疫缺陷诊断并发严重真菌感染的临床证据；曲霉菌肺炎或中枢神经系统感染', { coverage: 'attest', require: { anyOf: [{ confirm: '有明确的重度免疫缺陷诊断并发严重真菌感染的临床证据' }, { diagnoses: ['B44', 'J17.2', 'G00-G09'] }] } }],
  ['限头颈部恶性肿瘤', { coverage: 'exact', require: { diagnoses: ['C00-C14', 'C30-C32', 'C76.0'] } }],
  ['限白血病、淋巴瘤、黑色素瘤、肾癌、多发性骨髓瘤、丙肝、慢性活动性乙肝。丙肝、慢性活动性乙肝连续使用6个月无效时停药，连续使用不超过12个月', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['C91-C95', 'C81-C88', 'C43', 'C64', 'C90.0'] }, { diagnoses: ['B18.1', 'B18.2'], confirm: '连续使用未超过12个月，且未出现连续使用6个月无效' }] } }],
  ['限多发性骨髓瘤、复发或难治性套细胞淋巴瘤患者，并满足以下条件：1.每2个疗程需提供治疗有效的证据后方可继续支付；2.由三级医院血液专科或血液专科医院医师处方', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['C90.0'] }, { diagnoses: ['C83.1'], confirm: '复发或难治性套细胞淋巴瘤' }], confirm: ['每2个疗程已提供治疗有效的证据', '由三级医院血液专科或血液专科医院医师处方'] } }],
  ['限低血容量性休克或手术创伤、烧伤等引起的显著低血容量患者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['R57.1', 'E86'] }, { confirm: '手术创伤、烧伤等引起的显著低血容量' }] } }],
  ['限重症患者', { coverage: 'attest', require: { confirm: '重症患者' } }],
  ['限不能经口服补铁的缺铁性贫血患者', { coverage: 'attest', require: { diagnoses: ['D50'], confirm: '不能经口服补铁' } }],
  ['限儿童', { coverage: 'exact', require: CHILD }],
  ['限治疗血纤维蛋白溶解亢进引起出血的患者', { coverage: 'attest', require: { confirm: '血纤维蛋白溶解亢进引起的出血' } }],
  ['限生育保险', { coverage: 'exact', require: { insurance: ['510'] } }],
  ['限新发的蛛网膜下腔出血后的患者，支付不超过14天', { coverage: 'attest', require: { diagnoses: ['I60'], confirm: '新发的蛛网膜下腔出血' }, course: { maxDays: 14, window: 'fromFirstUse' } }],
  ["限有Sjogren's综合征、神经麻痹性角膜炎、暴露性角膜炎的患者", { coverage: 'exact', require: { diagnoses: ['M35.0', 'H16.2'] } }],
  ['限中、重度骨质疏松；肾性骨病；甲状旁腺功能减退症', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['M80-M81'], confirm: '中、重度骨质疏松' }, { diagnoses: ['N25.0'] }, { diagnoses: ['E20', 'E89.2'] }] } }],
  ['限器官移植后的抗排异反应', { coverage: 'exact', require: { diagnoses: ['Z94', 'T86'] } }],
  ['限放化疗引起的严重血小板减少患者', { coverage: 'attest', require: { diagnoses: ['D69.5', 'D69.6'], confirm: '放化疗引起的严重血小板减少' } }],
  ['限多形性胶质母细胞瘤、间变性星形细胞瘤', { coverage: 'attest', require: { diagnoses: ['C71'], confirm: '病理为多形性胶质母细胞瘤或间变性星形细胞瘤' } }],
  ['限中重度特应性皮炎患者的二线用药', { coverage: 'attest', require: { diagnoses: ['L20'], priorDrugs: { drugs: ['XD07'], name: '外用糖皮质激素(一线用药)' }, confirm: '中重度特应性皮炎，一线用药效果不佳' } }],
  ['限艾滋病病毒感染', { coverage: 'exact', require: { diagnoses: ['B20-B24', 'Z21'] } }],
  ['限甲氧西林耐药阳性球菌感染；病原不明的中枢神经系统、心血管系统重症感染及菌血症', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['B95.6'] }, { confirm: '甲氧西林耐药阳性球菌感染' }, { diagnoses: ['G00-G09', 'I33', 'I40', 'A40-A41'], confirm: '病原不明的重症感染或菌血症' }] } }],
  ['限中重度骨质疏松', { coverage: 'attest', require: { diagnoses: ['M80-M81'], confirm: '中重度骨质疏松' } }],
  ['限持续使用可乐定，且有因禁食、吞咽困难等无法使用可乐定口服制剂的患者', { coverage: 'attest', require: { confirm: ['持续使用可乐定', '因禁食、吞咽困难等无法使用可乐定口服制剂'] } }],
  ['限明确诊断的阿尔茨海默病', { coverage: 'exact', require: { diagnoses: ['G30', 'F00'] } }],
  ['限与肠外营养药物配合使用时支付，单独使用不予支付', { coverage: 'exact', require: { coPrescribed: { drugs: ['XB05BA'], name: '肠外营养药物' } } }],
  ['限无法使用多西环素口服制剂的患者', { coverage: 'attest', require: { confirm: '无法使用多西环素口服制剂' } }],
  ['限新发的急性血栓性脑梗死，支付不超过14天', { coverage: 'attest', require: { diagnoses: ['I63'], confirm: '新发的急性血栓性脑梗死' }, course: { maxDays: 14, window: 'fromFirstUse' } }],
  ['限因肾损伤或药物毒性而不能使用有效剂量两性霉素B的患者', { coverage: 'attest', require: { confirm: '因肾损伤或药物毒性不能使用有效剂量两性霉素B' } }],
  ['限多囊卵巢综合症', { coverage: 'exact', require: { diagnoses: ['E28.2'] } }],
  ['限癌症骨转移', { coverage: 'exact', require: { diagnoses: ['C79.5'] } }],
  ['限对伊马替尼耐药或不耐受的慢性髓细胞白血病患者', { coverage: 'attest', require: { diagnoses: ['C92.1'], priorDrugs: { drugs: ['XL01EA', 'XL01XE'], name: '伊马替尼(BCR-ABL 酪氨酸激酶抑制剂类)', withinDays: 3650 }, confirm: '伊马替尼耐药或不耐受' } }],
  ['限慢性肾功能衰竭所致的高磷血症', { coverage: 'exact', require: { diagnoses: ['N18'], labs: [{ codes: ['P', 'PHOS'], name: '血磷', op: '>', value: 1.45, unit: 'mmol/L', withinDays: 90 }] } }],
  ['限三唑类衍生物无效的念珠菌血症；其他治疗无效或不能耐受的侵袭性曲霉菌病的二线治疗', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['B37.7'], priorDrugs: { drugs: ['XJ02AC'], name: '三唑类抗真菌药', withinDays: 90 }, confirm: '三唑类衍生物治疗无效' }, { diagnoses: ['B44'], confirm: '其他治疗无效或不能耐受' }] } }],
  ['限急救抢救', { coverage: 'attest', require: { confirm: '急救抢救' } }],
  ['限肿瘤患者', { coverage: 'exact', require: { diagnoses: ['C00-D48'] } }],
  ['限IPSS评分系统中中危-2和高危的初治、复治骨髓增生异常综合征患者', { coverage: 'attest', require: { diagnoses: ['D46'], confirm: 'IPSS评分中危-2或高危' } }],
  ['限出现意识障碍的急性颅脑外伤和脑手术后患者，支付不超过14天', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['S06'] }, { procedures: { codes: ['01', '02'], name: '颅脑手术' } }], confirm: '出现意识障碍' }, course: { maxDays: 14, window: 'fromFirstUse' } }],
  ['限肾细胞癌、黑色素瘤、癌性胸腹腔积液', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['C64', 'C43'] }, { diagnoses: ['J91', 'R18', 'C78.2', 'C78.6'], confirm: '胸腹腔积液为癌性' }] } }],
  ['限有糖尿病诊断且有微循环障碍临床证据的患者', { coverage: 'attest', require: { diagnoses: ['E10-E14'], confirm: '有微循环障碍临床证据' } }],
  ['限有明确的肝硬化、重症肝炎和肝昏迷诊断证据的患者', { coverage: 'exact', require: { diagnoses: ['K74', 'K70.3', 'K72'] } }],
  ['限口服吞咽困难的器官移植后抗排异反应', { coverage: 'attest', require: { diagnoses: ['Z94', 'T86'], confirm: '口服吞咽困难' } }],
  ['限肾功能不全的患者', { coverage: 'exact', require: { diagnoses: ['N17-N19'] } }],
  ['限无法使用溴己新口服制剂的排痰困难患者', { coverage: 'attest', require: { confirm: '排痰困难且无法使用溴己新口服制剂' } }],
  ['限抢救或肝功能衰竭', { coverage: 'attest', require: { anyOf: [{ confirm: '抢救' }, { diagnoses: ['K72'] }] } }],
  ['限儿童缺铁性贫血', { coverage: 'exact', require: { ...CHILD, diagnoses: ['D50'] } }],
  ['限他汀类药物治疗效果不佳或不耐受的患者', { coverage: 'attest', require: { priorDrugs: { drugs: ['XC10AA'], name: '他汀类药物' }, confirm: '他汀类药物治疗效果不佳或不耐受' } }],
  ['限联合化疗失败的转移性乳腺癌或辅助化疗后6个月内复发的乳腺癌患者', { coverage: 'attest', require: { diagnoses: ['C50'], confirm: '联合化疗失败的转移性乳腺癌，或辅助化疗后6个月内复发' } }],
  ['限晚期食管癌或晚期胃癌改善症状的辅助治疗', { coverage: 'attest', require: { diagnoses: ['C15', 'C16'], confirm: '晚期' } }],
  ['限下呼吸道感染、社区获得性肺炎；有明确药敏试验证据的如下感染：急性窦炎、复杂性腹腔感染', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['J12-J18', 'J20-J22'] }, { diagnoses: ['J01', 'K65'], confirm: '有明确药敏试验证据' }] } }],
  ['限头孢菌素耐药或重症感染儿童患者', { coverage: 'attest', require: { ...CHILD, confirm: '头孢菌素耐药或重症感染' } }],
  ['限不配合口服给药患者', { coverage: 'attest', require: { confirm: '不配合口服给药' } }],
  ['限药物性肝损伤或肝功能衰竭', { coverage: 'exact', require: { diagnoses: ['K71', 'K72'] } }],
  ['限阿司匹林不能耐受的患者', { coverage: 'attest', require: { confirm: '阿司匹林不能耐受' } }],
  ['限眼部手术后炎症', { coverage: 'exact', require: { procedures: { codes: ['08', '09', '10', '11', '12', '13', '14', '15', '16'], name: '眼部手术' } } }],
  ['限有明确药敏试验证据的患者', { coverage: 'attest', require: { confirm: '有明确药敏试验证据' } }],
  ['限重症流感高危人群及重症患者的抗流感病毒治疗', { coverage: 'attest', require: { diagnoses: ['J09-J11'], confirm: '重症流感高危人群或重症患者' } }],
  ['限复杂性腹腔感染、复杂性皮肤及软组织感染、社区获得性肺炎的重症患者，以及多重耐药的鲍曼不动杆菌或碳青霉烯类耐药的肠杆菌感染患者（不包括中枢神经系统、尿路感染）', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['K65', 'L00-L08', 'J12-J18'], confirm: '复杂性感染的重症患者' }, { confirm: '多重耐药的鲍曼不动杆菌或碳青霉烯类耐药的肠杆菌感染' }], excludeDiagnoses: ['G00-G09', 'N39.0', 'N30', 'N10'] } }],
  ['限器官移植的诱导治疗', { coverage: 'attest', require: { confirm: '器官移植的诱导治疗' } }],
  ['限器官移植排斥反应高危人群的诱导治疗；急性排斥反应的治疗；重型再生障碍性贫血', { coverage: 'attest', require: { anyOf: [{ confirm: '器官移植排斥反应高危人群的诱导治疗' }, { diagnoses: ['T86'], confirm: '急性排斥反应' }, { diagnoses: ['D61'], confirm: '重型再生障碍性贫血' }] } }],
  ['限氟尿嘧啶类药物不耐受的晚期结直肠癌患者', { coverage: 'attest', require: { diagnoses: ['C18-C20'], confirm: '晚期，氟尿嘧啶类药物不耐受' } }],
  ['限转移性去势抵抗性前列腺癌、新诊断的高危转移性内分泌治疗敏感性前列腺癌', { coverage: 'attest', require: { diagnoses: ['C61'], confirm: '转移性去势抵抗性，或新诊断的高危转移性内分泌治疗敏感性前列腺癌' } }],
  ['限中长效胰岛素难以控制的2型糖尿病患者', { coverage: 'attest', require: { diagnoses: ['E11'], confirm: '中长效胰岛素难以控制' } }],
  ['限视网膜动静脉阻塞或突发性耳聋患者，支付不超过14天', { coverage: 'exact', require: { diagnoses: ['H34', 'H91.2'] }, course: { maxDays: 14, window: 'fromFirstUse' } }],
  ['限维生素B12缺乏的巨幼红细胞性贫血且有禁食医嘱或因吞咽困难等，无法使用甲钴胺口服制剂的患者', { coverage: 'attest', require: { diagnoses: ['D51'], confirm: '有禁食医嘱或因吞咽困难等无法使用甲钴胺口服制剂' } }],
  ['限肾透析并有低钙血症的患者', { coverage: 'exact', require: { diagnoses: ['Z49', 'Z99.2'], labs: [{ codes: ['CA'], name: '血钙', op: '<', value: 2.1, unit: 'mmol/L' }] } }],
  ['胰腺手术，支付不超过7天；神经内分泌肿瘤类癌危象围手术期，支付不超过7天；肝硬化所致的食道或胃静脉曲张出血，支付不超过5天', { coverage: 'approximate', why: '三种情况的支付天数不同(7/7/5天), 一条疗程规则不能按诊断分别计: 按7天计, 静脉曲张出血多支付的第6–7天不会提示', require: { anyOf: [{ procedures: { codes: ['52'], name: '胰腺手术' } }, { diagnoses: ['E34.0'], confirm: '类癌危象围手术期' }, { diagnoses: ['I85.0', 'I98.3'], confirm: '肝硬化所致的静脉曲张出血' }] }, course: { maxDays: 7, window: 'fromFirstUse' } }],
  ['限芳香化酶抑制剂治疗失败后的晚期、激素受体（ER/PR）阳性乳腺癌治疗', { coverage: 'attest', require: { diagnoses: ['C50'], priorDrugs: { drugs: ['XL02BG'], name: '芳香化酶抑制剂', withinDays: 3650 }, confirm: '晚期、激素受体阳性，芳香化酶抑制剂治疗失败' } }],
  ['限急性缺血性脑血管疾病，支付不超过14天', { coverage: 'attest', require: { diagnoses: ['I63', 'G45', 'I65-I66'], confirm: '急性期' }, course: { maxDays: 14, window: 'fromFirstUse' } }],
  ['限曾接受过至少一种疗法的多发性骨髓瘤的成年患者，并满足以下条件：1.每2个疗程需提供治疗有效的证据后方可继续支付；2.由三级医院血液专科或血液专科医院医师处方', { coverage: 'attest', require: { ...ADULT, diagnoses: ['C90.0'], confirm: ['曾接受过至少一种疗法', '每2个疗程已提供治疗有效的证据', '由三级医院血液专科或血液专科医院医师处方'] } }],
  ['1.转移性结直肠癌：贝伐珠单抗联合以氟嘧啶为基础的化疗适用于转移性结直肠癌患者的治疗;2.晚期、转移性或复发性非小细胞肺癌：…一线治疗;3.复发性胶质母细胞瘤…4.肝细胞癌…（谈判药品按适应症逐条列出, 此处截断）', { coverage: 'approximate', why: '本行原文被截断(“此处截断”), 只编码了列出的四个适应症, 其后的适应症未知: 级别设为提醒, 以免拦截未列出的合规用药', level: 'warn', require: { anyOf: [{ diagnoses: ['C18-C20'], confirm: '转移性结直肠癌，联合以氟嘧啶为基础的化疗' }, { diagnoses: ['C34'], confirm: '晚期、转移性或复发性非小细胞肺癌' }, { diagnoses: ['C71'], confirm: '复发性胶质母细胞瘤' }, { diagnoses: ['C22'] }] } }],
  ['限儿童乙（B）型血友病；成人乙（B）型血友病限出血时使用', { coverage: 'attest', require: { diagnoses: ['D67'], anyOf: [CHILD, { ...ADULT, confirm: '出血时使用' }] } }],
  ['限重度炎症及感染的患者', { coverage: 'attest', require: { confirm: '重度炎症及感染' } }],
  ['限吞咽困难且明确诊断的中重度至重度阿尔茨海默型痴呆', { coverage: 'attest', require: { diagnoses: ['G30', 'F00'], confirm: ['吞咽困难', '中重度至重度'] } }],
  ['限癌症疼痛患者或其他方法难以控制的重度疼痛', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['C00-C97'], confirm: '癌症疼痛' }, { confirm: '其他方法难以控制的重度疼痛' }] } }],
  ['限万古霉素治疗不可耐受的重症感染的二线治疗；限耐万古霉素的肠球菌感染', { coverage: 'attest', require: { anyOf: [{ priorDrugs: { drugs: ['XJ01XA'], name: '万古霉素类', withinDays: 90 }, confirm: '万古霉素治疗不可耐受的重症感染' }, { confirm: '耐万古霉素的肠球菌感染' }] } }],
  ['限局部晚期或转移性非鳞状细胞型非小细胞肺癌；恶性胸膜间皮瘤', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['C34'], confirm: '局部晚期或转移性非鳞状细胞型' }, { diagnoses: ['C45.0'] }] } }],
  ['限全身型幼年特发性关节炎的二线治疗；限诊断明确的类风湿关节炎经传统DMARDs治疗3-6个月疾病活动度下降低于50%者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['M08.2'], confirm: '二线治疗' }, { diagnoses: ['M05', 'M06'], priorDrugs: { drugs: ['XL04AX', 'XL04AA', 'XA07EC', 'XP01BA', 'XL01BA'], name: '传统DMARDs', withinDays: 365, minDays: 90 }, confirm: '疾病活动度下降低于50%' }] } }],
  ['限脑外伤所致的脑功能障碍患者，支付不超过14天', { coverage: 'attest', require: { diagnoses: ['S06', 'F07.2'], confirm: '脑外伤所致的脑功能障碍' }, course: { maxDays: 14, window: 'fromFirstUse' } }],
  ['限下肢关节置换手术患者', { coverage: 'exact', require: { procedures: { codes: ['81.51', '81.52', '81.53', '81.54', '81.55'], name: '下肢关节置换术' } } }],
  ['限巨幼红细胞性贫血且有禁食医嘱或因吞咽困难等，无法使用腺苷钴胺口服制剂的患者', { coverage: 'attest', require: { diagnoses: ['D51', 'D52', 'D53.1'], confirm: '有禁食医嘱或因吞咽困难等无法使用腺苷钴胺口服制剂' } }],
  ['限新生儿', { coverage: 'exact', require: { ageDaysMax: 28 } }],
  ['限丙肝、慢性活动性乙肝，连续使用6个月无效时停药，连续使用不超过12个月', { coverage: 'attest', require: { diagnoses: ['B18.1', 'B18.2'], confirm: '未出现连续使用6个月无效' }, course: { maxDays: 365, window: 'fromFirstUse' } }],
  ['限洋地黄中毒引起的心律失常患者', { coverage: 'attest', require: { diagnoses: ['T46.0'], confirm: '洋地黄中毒引起心律失常' } }],
  ['限儿童甲（A）型血友病；成人甲（A）型血友病限出血时使用', { coverage: 'attest', require: { diagnoses: ['D66'], anyOf: [CHILD, { ...ADULT, confirm: '出血时使用' }] } }],
  ['限原发性肉碱缺乏症患者或因罕见病导致的继发性肉碱缺乏症患者（以国家相关部门公布的罕见病目录为准）', { coverage: 'attest', require: { diagnoses: ['E71.4'], confirm: '原发性肉碱缺乏症，或罕见病目录中的疾病所致继发性肉碱缺乏症' } }],
  ['限华法林治疗控制不良或出血高危的非瓣膜性房颤患者', { coverage: 'attest', require: { diagnoses: ['I48'], excludeDiagnoses: ['I05-I08', 'I34-I35', 'Z95.2'], confirm: '华法林治疗控制不良或出血高危' } }],
  ['限有慢性动脉闭塞症诊断且有明确的溃疡、间歇性跛行及严重疼痛体征的患者', { coverage: 'attest', require: { diagnoses: ['I70.2', 'I73.9', 'I73.1'], confirm: '有明确的溃疡、间歇性跛行及严重疼痛体征' } }],
  ['限由静脉输液或注射引起的血栓性静脉炎', { coverage: 'exact', require: { diagnoses: ['T80.1'] } }],
  ['限手术大出血和肝病导致的出血；乙（B）型血友病或伴有凝血因子Ⅷ抑制物的血友病患者', { coverage: 'attest', require: { anyOf: [{ confirm: '手术大出血' }, { diagnoses: ['K70-K77'], confirm: '肝病导致的出血' }, { diagnoses: ['D67'] }, { diagnoses: ['D66', 'D68.3'], confirm: '伴有凝血因子Ⅷ抑制物' }] } }],
  ['限妊娠24周到33周，且有明确早产指征者的二线用药', { coverage: 'attest', require: { pregnancy: ['pregnant'], diagnoses: ['O60'], confirm: ['妊娠24周到33周', '二线用药(一线宫缩抑制剂无效或禁忌)'] } }],
  ['限甲氧西林耐药阳性球菌感染', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['B95.6'] }, { confirm: '甲氧西林耐药阳性球菌感染' }] } }],
  ['限重度骨质疏松或癌症骨转移', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['M80-M81'], confirm: '重度骨质疏松' }, { diagnoses: ['C79.5'] }] } }],
  ['限1.具有EGFR基因敏感突变的局部晚期或转移性非小细胞肺癌，既往未接受过EGFR-TKI治疗；2.含铂化疗期间或化疗后疾病进展的局部晚期或转移性鳞状组织学类型的非小细胞肺癌', { coverage: 'attest', require: { diagnoses: ['C34'], anyOf: [{ confirm: 'EGFR基因敏感突变，局部晚期或转移性，既往未接受过EGFR-TKI治疗' }, { priorDrugs: { drugs: ['XL01XA'], name: '含铂化疗药', withinDays: 365 }, confirm: '鳞状非小细胞肺癌，含铂化疗期间或化疗后进展' }] } }],
  ['限有明确角膜溃疡或角膜损伤的患者', { coverage: 'exact', require: { diagnoses: ['H16.0', 'S05.0', 'S05.1', 'T15.0'] } }],
  ['限在使用多柔比星后并有心脏损害临床证据', { coverage: 'attest', require: { priorDrugs: { drugs: ['XL01DB'], name: '蒽环类(多柔比星等)', withinDays: 3650 }, confirm: ['使用的是多柔比星', '有心脏损害临床证据'] } }],
  ['限1.不能手术的晚期肾细胞癌（RCC)；2.甲磺酸伊马替尼治疗失败或不能耐受的胃肠间质瘤（GIST)；3.不可切除的，转移性高分化进展期胰腺神经内分泌瘤（pNET）成人患者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['C64'], confirm: '不能手术的晚期肾细胞癌' }, { priorDrugs: { drugs: ['XL01EA', 'XL01XE'], name: '伊马替尼(BCR-ABL 酪氨酸激酶抑制剂类)', withinDays: 3650 }, confirm: '胃肠间质瘤，伊马替尼治疗失败或不能耐受' }, { ...ADULT, diagnoses: ['C25.4'], confirm: '不可切除的转移性高分化进展期' }] } }],
  ['限器官移植后的抗排异反应和Ⅲ-Ⅴ型狼疮性肾炎的患者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['Z94', 'T86'] }, { diagnoses: ['M32.1'], confirm: 'Ⅲ-Ⅴ型狼疮性肾炎' }] } }],
  ['限食管静脉曲张出血抢救', { coverage: 'attest', require: { diagnoses: ['I85.0', 'I98.3'], confirm: '抢救' } }],
  ['限恶性肿瘤骨转移并有明显癌痛的患者', { coverage: 'attest', require: { diagnoses: ['C79.5'], confirm: '明显癌痛' } }],
  ['限吞咽困难的患者', { coverage: 'attest', require: { anyOf: [{ diagnoses: ['R13'] }, { confirm: '吞咽困难' }] } }],
  ['限儿童检查、操作前的镇静、催眠', { coverage: 'attest', require: { ...CHILD, confirm: '检查、操作前的镇静、催眠' } }],
  ['限2岁至11岁儿童慢性便秘', { coverage: 'exact', require: { ageMin: 2, ageMax: 11, diagnoses: ['K59.0'] } }],
  ['限3岁及3岁以上伴有症状、无法手术的丛状神经纤维瘤(PN)的I型神经纤维瘤病(NF1)儿童患者', { coverage: 'attest', require: { ageMin: 3, ageMax: 17, diagnoses: ['Q85.0'], confirm: '伴有症状、无法手术的丛状神经纤维瘤' } }],
  ['限：1.1岁至14岁儿童哮喘的预防和长期治疗；2.2岁至14岁儿童季节性过敏性鼻炎和常年性过敏性鼻炎', { coverage: 'exact', require: { anyOf: [{ ageMin: 1, ageMax: 14, diagnoses: ['J45'] }, { ageMin: 2, ageMax: 14, diagnoses: ['J30.2', 'J30.3', 'J30.4'] }] } }],
  ['限二级及以上医疗机构癌症患者', { coverage: 'exact', require: { ...LEVEL2, diagnoses: ['C00-C97'] } }],
  ['限二级及以上医疗机构', { coverage: 'exact', require: LEVEL2 }],
  ['限二级及以上医疗机构的支气管炎哮喘患者', { coverage: 'exact', require: { ...LEVEL2, diagnoses: ['J20-J21', 'J40-J45'] } }],
  ['限二级及以上医疗机构的缺血性心脑血管疾病患者', { coverage: 'exact', require: { ...LEVEL2, diagnoses: ISCHEMIC_CARDIO_CEREBRAL } }],
  ['限二级及以上医疗机构缺血性心脑血管疾病的患者', { coverage: 'exact', require: { ...LEVEL2, diagnoses: ISCHEMIC_CARDIO_CEREBRAL } }],
  ['限二级及以上医疗机构的肿瘤患者', { coverage: 'exact', require: { ...LEVEL2, diagnoses: ['C00-D48'] } }],
  ['限二级及以上医疗机构慢性心力衰竭患者', { coverage: 'attest', require: { ...LEVEL2, diagnoses: ['I50'], confirm: '慢性心力衰竭' } }],
  ['限二级及以上医疗机构并有中风昏迷、脑外伤昏迷或酒精中毒昏迷的患者', { coverage: 'attest', require: { ...LEVEL2, anyOf: [{ diagnoses: ['I60-I64'], confirm: '中风昏迷' }, { diagnoses: ['S06'], confirm: '脑外伤昏迷' }, { diagnoses: ['F10.0', 'T51'], confirm: '酒精中毒昏迷' }] } }],
  ['限二级及以上医疗机构肿瘤患者，单次住院最多支付14天', { coverage: 'exact', require: { ...LEVEL2, diagnoses: ['C00-D48'] }, course: { maxDays: 14, window: 'admission' } }],
  ['限二级及以上医疗机构冠心病心绞痛及冠心病所致左心功能不全Ⅱ-Ⅲ级的患者，单次住院最多支付14天', { coverage: 'attest', require: { ...LEVEL2, diagnoses: ['I20-I25'], confirm: '冠心病心绞痛，或冠心病所致左心功能不全Ⅱ-Ⅲ级' }, course: { maxDays: 14, window: 'admission' } }],
  ['限二级及以上医疗机构用于规范治疗效果不佳的急性失代偿性心力衰竭短期治疗，单次住院支付不超过3天', { coverage: 'attest', require: { ...LEVEL2, diagnoses: ['I50'], confirm: '规范治疗效果不佳的急性失代偿性心力衰竭' }, course: { maxDays: 3, window: 'admission' } }],
  ['限二甲双胍等口服降糖药或胰岛素控制效果不佳的BMI≥25的患者，首次处方时需由二级及以上医疗机构专科医师开具处方', { coverage: 'attest', require: { priorDrugs: { drugs: ['XA10A', 'XA10BA', 'XA10BB', 'XA10BF', 'XA10BG', 'XA10BH', 'XA10BK', 'XA10BX'], name: '二甲双胍等口服降糖药或胰岛素' }, labs: [{ codes: ['BMI'], name: 'BMI', op: '>=', value: 25, unit: 'kg/m2', withinDays: 365 }], confirm: ['口服降糖药或胰岛素控制效果不佳', '首次处方由二级及以上医疗机构专科医师开具(非首次处方不限)'] } }],
  ['限：1.视网膜静脉阻塞(RVO)的黄斑水肿；2.糖尿病性黄斑水肿(DME)。应同时符合以下条件：1.需三级综合医院眼科或二级及以上眼科专科医院医师处方；2.首次处方时病眼基线矫正视力0.05-0.5；3.事前审查后方可用，初次申请需有血管造影或OCT(全身情况不允许的患者可以提供OCT血管成像)证据；4.每眼累计最多支付5支，每个年度最多支付2支', { coverage: 'approximate', why: perEyeWhy, require: { diagnoses: ['H34.8', 'H35.8', 'E10.3', 'E11.3', 'H36.0'], confirm: ['三级综合医院眼科或二级及以上眼科专科医院医师处方', '首次处方时病眼基线矫正视力0.05-0.5', '已通过事前审查(有血管造影或OCT证据)'] }, limits: [{ key: 'DEX', prefix: '', maxQty: 5, per: 'lifetime', level: 'warn', title: '地塞米松玻璃体内植入剂每眼累计最多支付5支', message: '{drug}累计已用 {earlier} 支，本次 {current} 支，共 {total} 支，超过每眼累计 5 支(本提醒按患者合计，双眼用药请核对每眼支数)。' }, { key: 'DEX-Y', prefix: '', maxQty: 2, per: 'year', level: 'warn', title: '地塞米松玻璃体内植入剂每年度最多支付2支', message: '{drug}本年度已用 {earlier} 支，本次 {current} 支，共 {total} 支，超过每年度 2 支(按患者合计，双眼用药请核对)。' }] }],
  ['限：1.糖尿病性黄斑水肿(DME)；2.新生血管性(湿性)年龄相关性黄斑变性(nAMD)；3.继发于视网膜分支静脉阻塞(BRVO)的黄斑水肿。应同时符合以下条件：1.需三级综合医院眼科或二级及以上眼科专科医院医师处方；2.首次处方时病眼基线矫正视力0.05-0.5；3.事前审查后方可用，初次申请需有血管造影或OCT(全身情况不允许的患者可以提供OCT血管成像)证据；4.每眼累计最多支付9支，第1年度最多支付5支。阿柏西普、雷珠单抗、康柏西普、法瑞西单抗的药品支数合并计算', { coverage: 'approximate', why: perEyeWhy, require: { diagnoses: ['E10.3', 'E11.3', 'H36.0', 'H35.3', 'H34.8'], confirm: ['三级综合医院眼科或二级及以上眼科专科医院医师处方', '首次处方时病眼基线矫正视力0.05-0.5', '已通过事前审查(有血管造影或OCT证据)'] }, limits: [{ key: 'VEGF', prefix: ANTI_VEGF, maxQty: 9, per: 'lifetime', level: 'warn', title: '抗VEGF眼用注射剂每眼累计最多支付9支(合并计算)', message: '抗VEGF药品累计已用 {earlier} 支，本次 {current} 支，共 {total} 支，超过每眼累计 9 支(阿柏西普、雷珠单抗、康柏西普、法瑞西单抗合并计算；按患者合计，双眼用药请核对)。' }, { key: 'VEGF-Y', prefix: ANTI_VEGF, maxQty: 5, per: 'year', level: 'warn', title: '抗VEGF眼用注射剂第1年度最多支付5支(合并计算)', message: '抗VEGF药品本年度已用 {earlier} 支，本次 {current} 支，共 {total} 支，超过第1年度 5 支(按自然年、按患者合计，请核对)。' }] }],
  ['限:1.50岁以上的湿性年龄相关性黄斑变性(AMD)；2.糖尿病性黄斑水肿(DME)引起的视力损害；3.脉络膜新生血管(CNV)导致的视力损害；4.继发于视网膜静脉阻塞(RVO)(视网膜分支静脉阻塞(BRVO)或视网膜中央静脉阻塞(CRVO)的黄斑水肿引起的视力损伤。应同时符合以下条件：1.需三级综合医院眼科或二级及以上眼科专科医院医师处方；2.首次处方时病眼基线矫正视力0.05-0.5；3.事前审查后方可用，初次申请需有血管造影或OCT(全身情况不允许的患者可以提供OCT血管成像)证据；4.每眼累计最多支付9支，第1年度最多支付5支。阿柏西普、雷珠单抗、康柏西普、法瑞西单抗的药品支数合并计算', { coverage: 'approximate', why: perEyeWhy, require: { anyOf: [{ ageMin: 51, diagnoses: ['H35.3'] }, { diagnoses: ['E10.3', 'E11.3', 'H36.0'] }, { diagnoses: ['H35.0', 'H35.3', 'H31.4'], confirm: '脉络膜新生血管导致的视力损害' }, { diagnoses: ['H34.8'] }], confirm: ['三级综合医院眼科或二级及以上眼科专科医院医师处方', '首次处方时病眼基线矫正视力0.05-0.5', '已通过事前审查(有血管造影或OCT证据)'] }, limits: [{ key: 'VEGF', prefix: ANTI_VEGF, maxQty: 9, per: 'lifetime', level: 'warn', title: '抗VEGF眼用注射剂每眼累计最多支付9支(合并计算)' }, { key: 'VEGF-Y', prefix: ANTI_VEGF, maxQty: 5, per: 'year', level: 'warn', title: '抗VEGF眼用注射剂第1年度最多支付5支(合并计算)' }] }],
  ['限新发的急性缺血性脑卒中患者在发作72小时内开始使用，支付不超过20天', { coverage: 'attest', require: { diagnoses: ['I63'], confirm: '新发的急性缺血性脑卒中，发作72小时内开始使用' }, course: { maxDays: 20, window: 'fromFirstUse' } }],
  ['支付不超过14天', { coverage: 'exact', course: { maxDays: 14, window: 'fromFirstUse' } }],
  ['支付不超过10天', { coverage: 'exact', course: { maxDays: 10, window: 'fromFirstUse' } }],
  ['限轻-中度急性血栓性脑梗死，应在发作48小时内开始使用，支付不超过21天', { coverage: 'attest', require: { diagnoses: ['I63'], confirm: '轻-中度急性血栓性脑梗死，发作48小时内开始使用' }, course: { maxDays: 21, window: 'fromFirstUse' } }],
  ['限以下情况方可支付，且支付不超过12个月：1.HER2阳性的局部晚期、炎性或早期乳腺癌患者的新辅助治疗；2.具有高复发风险HER2阳性早期乳腺癌患者的辅助治疗', { coverage: 'attest', require: { diagnoses: ['C50'], confirm: 'HER2阳性乳腺癌的新辅助治疗，或高复发风险早期乳腺癌的辅助治疗' }, course: { maxDays: 365, window: 'fromFirstUse' } }],
  ['限重度炎症及感染的患者。需经营养风险筛查，明确具有营养风险，且不能经饮食或使用“肠内营养剂”补充足够营养的住院患者方予支付', { coverage: 'attest', require: { ...INPATIENT, confirm: ['重度炎症及感染', NUTRITION_RISK] } }],
  ['限肾功能不全的患者。需经营养风险筛查，明确具有营养风险，且不能经饮食或使用“肠内营养剂”补充足够营养的住院患者方予支付', { coverage: 'attest', require: { ...INPATIENT, diagnoses: ['N17-N19'], confirm: NUTRITION_RISK } }],
  ['限肝功能不全(严重肝功能不全者除外)患者的二线用药。需经营养风险筛查，明确具有营养风险，且不能经饮食或使用“肠内营养剂”补充足够营养的住院患者方予支付', { coverage: 'attest', require: { ...INPATIENT, diagnoses: ['K70-K77'], priorDrugs: { drugs: ['XB05BA'], name: '肠外营养药(一线用药)', withinDays: 90 }, confirm: ['肝功能不全但非严重肝功能不全', '普通脂肪乳效果不佳(二线用药)', NUTRITION_RISK] } }],
];
